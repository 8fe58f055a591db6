//! Plate grammar: normalisation, formats, repair of the usual OCR confusions, and the choice of a plate text from
//! per-character probabilities. Pure: no I/O, no model.
//!
//! # Formats
//! - [`PlateFormat::FrenchSiv`]: `AA-123-AA` (SIV, since 2009). Letters exclude I, O and U; the left block is never
//!   `SS`; the number is never `000`. `WW` left blocks (temporary plates) are accepted.
//! - [`PlateFormat::FrenchFni`]: `1234 AB 56` (FNI, before 2009): 1-4 digits (no leading zero), 2-3 letters (no I,
//!   no O), a two-digit département `01`-`95` or `2A` / `2B` (Corsica). Overseas (`971`-`976`) is not accepted.
//! - [`PlateFormat::SlovakStandard`]: `BA-123AB`: a district code of [`SK_DISTRICTS`], three digits, two letters
//!   (any letter, so `RK-340AO` keeps its O).
//! - [`PlateFormat::SlovakPersonal`]: `KM-BORAK`: a district code and five letters or digits, letters only allowed.
//!   No position fixes the kind of character, so it is never repaired; [`decide`] takes one only from the
//!   recogniser's own reading when every character is sure ([`PERSONAL_MIN_CHAR`]), no French format, EU shape or
//!   confusion-repaired standard Slovak plate fits it, and it is no known badge (`PEUGEOT`, `SANDERO`, ...: a make
//!   or model whose first letters are a district code). `FELICIA` (no district `FE`) stays no plate.
//! - [`PlateFormat::Eu`]: the generic European fallback: 5-8 letters and digits with at least one of each.
//!
//! Texts are compared and printed normalised: upper-case ASCII letters and digits only, no separators.
//!
//! # Repair
//! [`repair`] works on text alone: a text that is already a valid French plate is kept; otherwise, when the
//! usual confusions (O/0, D/0, Q/0, I/1, B/8, S/5, Z/2, G/6) at the positions where a French format wants a digit
//! or a letter make it one, it is repaired (fewest substitutions first, SIV before FNI), then likewise for the
//! Slovak standard format; otherwise a valid personalised Slovak or generic EU text is kept as is. So: a valid French plate is never changed, a valid EU plate is only changed when it is
//! one confusion away from a French format (Vigie is deployed in France; see [`repair`]), and repair is idempotent.
//!
//! [`decide`] works on the recogniser's per-character probabilities and also knows the common shapes of other EU
//! plates ([`EU_SHAPES`]): every format or shape of the right length proposes its best constrained reading, and the
//! readings compete on a score: the mean character value times a prior (French 0.98, Slovak standard 0.97, EU
//! shape 0.96, Slovak personalised 0.95, generic EU 0.92). A character's value is its probability plus a share of the probability of its confusion partners that
//! the position does not allow (0.9 for O/0 and I/1, 0.8 for B/8, S/5, Z/2, 0.7 for D/0 and G/6, 0.6 for Q/0): a
//! position that wants a letter turns most of a `0` into an `O`. A substituted character needs some support (at least 0.2) or the reading is
//! dropped: `FELICIA` is no plate. One doubtful character (its 36 symbol probabilities add up to less than 0.8:
//! the model half thinks it is no character at all) may also be dropped when what is left fits a French format or
//! an EU shape (score times 0.97): the coat of arms or EU band at the left of a plate, or an inspection sticker
//! between two groups, is often read as such a character. A character that is only unsure between two symbols
//! (`I` or `1`, together 0.8 or more) is never dropped.

use serde::{Deserialize, Serialize};

/// The 36 plate symbols, digits then letters; a symbol's index in [`CharProbs`].
pub const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Probability of each of the 36 [`ALPHABET`] symbols at one character position.
pub type CharProbs = [f32; 36];

/// Index of an upper-case ASCII letter or digit in [`ALPHABET`].
pub fn symbol_index(c: u8) -> Option<usize> {
    match c {
        b'0'..=b'9' => Some((c - b'0') as usize),
        b'A'..=b'Z' => Some((c - b'A') as usize + 10),
        _ => None,
    }
}

/// Which grammar a plate text fits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlateFormat {
    /// French SIV `AA-123-AA`.
    FrenchSiv,
    /// French FNI `1234 AB 56`.
    FrenchFni,
    /// Slovak standard `BA-123AB`: a district code of [`SK_DISTRICTS`], three digits, two letters.
    SlovakStandard,
    /// Slovak personalised `KM-BORAK`: a district code of [`SK_DISTRICTS`] and five letters or digits (letters only
    /// allowed). [`decide`] reads one only from a sure raw reading (see [`PERSONAL_MIN_CHAR`]).
    SlovakPersonal,
    /// Generic European: 5-8 letters and digits, at least one of each.
    Eu,
}

impl PlateFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            PlateFormat::FrenchSiv => "french_siv",
            PlateFormat::FrenchFni => "french_fni",
            PlateFormat::SlovakStandard => "slovak_standard",
            PlateFormat::SlovakPersonal => "slovak_personal",
            PlateFormat::Eu => "eu",
        }
    }

    /// The format [`PlateFormat::as_str`] names; generic EU for any other name.
    pub fn from_name(name: &str) -> PlateFormat {
        match name {
            "french_siv" => PlateFormat::FrenchSiv,
            "french_fni" => PlateFormat::FrenchFni,
            "slovak_standard" => PlateFormat::SlovakStandard,
            "slovak_personal" => PlateFormat::SlovakPersonal,
            _ => PlateFormat::Eu,
        }
    }

    /// Prior weight of a reading of this format in [`decide`].
    fn prior(self) -> f32 {
        match self {
            PlateFormat::FrenchSiv | PlateFormat::FrenchFni => FRENCH_PRIOR,
            PlateFormat::SlovakStandard => SLOVAK_PRIOR,
            PlateFormat::SlovakPersonal => PERSONAL_PRIOR,
            PlateFormat::Eu => GENERIC_PRIOR,
        }
    }
}

/// Prior of a reading that fits a French format.
const FRENCH_PRIOR: f32 = 0.98;
/// Prior of a reading that fits the Slovak standard format (a real district code: more specific than a shape).
const SLOVAK_PRIOR: f32 = 0.97;
/// Prior of a Slovak personalised reading (only ever the recogniser's own sure reading, see [`decide`]).
const PERSONAL_PRIOR: f32 = 0.95;
/// Prior of a reading that fits one of [`EU_SHAPES`].
const SHAPE_PRIOR: f32 = 0.96;
/// Prior of a reading that only fits the generic EU rule.
const GENERIC_PRIOR: f32 = 0.92;

/// Upper-cases and keeps ASCII letters and digits only (separators, spaces, dots, dashes and anything else are
/// dropped). Look-alike letters of other scripts (Cyrillic, Greek, full-width forms) become their ASCII letter.
pub fn normalise(s: &str) -> String {
    s.chars().filter_map(fold_char).map(char::from).collect()
}

/// The plate symbol a character stands for, or `None` for separators and everything else.
pub fn fold_char(c: char) -> Option<u8> {
    if c.is_ascii_alphanumeric() {
        return Some(c.to_ascii_uppercase() as u8);
    }
    let u = c as u32;
    // Full-width digits and letters.
    if (0xFF10..=0xFF19).contains(&u) {
        return Some(b'0' + (u - 0xFF10) as u8);
    }
    if (0xFF21..=0xFF3A).contains(&u) {
        return Some(b'A' + (u - 0xFF21) as u8);
    }
    if (0xFF41..=0xFF5A).contains(&u) {
        return Some(b'A' + (u - 0xFF41) as u8);
    }
    let a = match c {
        // Cyrillic capitals and small letters that look like Latin capitals.
        'А' | 'а' => b'A',
        'В' | 'в' => b'B',
        'Е' | 'е' => b'E',
        'К' | 'к' => b'K',
        'М' | 'м' => b'M',
        'Н' | 'н' => b'H',
        'О' | 'о' => b'O',
        'Р' | 'р' => b'P',
        'С' | 'с' => b'C',
        'Т' | 'т' => b'T',
        'Х' | 'х' => b'X',
        'У' => b'Y',
        'І' | 'і' => b'I',
        'Ј' => b'J',
        'Ѕ' => b'S',
        // Greek capitals that look like Latin capitals.
        'Α' => b'A',
        'Β' => b'B',
        'Ε' => b'E',
        'Ζ' => b'Z',
        'Η' => b'H',
        'Ι' => b'I',
        'Κ' => b'K',
        'Μ' => b'M',
        'Ν' => b'N',
        'Ο' => b'O',
        'Ρ' => b'P',
        'Τ' => b'T',
        'Υ' => b'Y',
        'Χ' => b'X',
        _ => return None,
    };
    Some(a)
}

/// What one position of a format accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Digit,
    /// A letter of the set (bit `i` = letter `'A' + i`).
    Letter(u32),
    /// Second character of a French département: a digit, or `A`/`B` after a `2` (Corsica).
    Dept2,
    /// First letter of a Slovak district code.
    SkDistrict1,
    /// Second letter of a Slovak district code (after the first).
    SkDistrict2,
}

const ALL_LETTERS: u32 = (1 << 26) - 1;
const fn without(mask: u32, letters: &[u8]) -> u32 {
    let mut m = mask;
    let mut i = 0;
    while i < letters.len() {
        m &= !(1 << (letters[i] - b'A'));
        i += 1;
    }
    m
}
/// SIV letters: no I, O, U.
const SIV_LETTERS: u32 = without(ALL_LETTERS, b"IOU");
/// FNI letters: no I, O.
const FNI_LETTERS: u32 = without(ALL_LETTERS, b"IO");

impl Slot {
    fn accepts(self, c: u8, prev: Option<u8>) -> bool {
        match self {
            Slot::Digit => c.is_ascii_digit(),
            Slot::Letter(m) => c.is_ascii_uppercase() && m & (1 << (c - b'A')) != 0,
            Slot::Dept2 => c.is_ascii_digit() || (prev == Some(b'2') && (c == b'A' || c == b'B')),
            Slot::SkDistrict1 => SK_DISTRICTS.iter().any(|d| d[0] == c),
            Slot::SkDistrict2 => prev.is_some_and(|p| is_sk_district(&[p, c])),
        }
    }
}

/// A sequence of slots with the format it stands for.
#[derive(Clone, Debug)]
struct Template {
    format: PlateFormat,
    /// For EU shapes: the shape; for French formats: empty.
    shape: &'static str,
    slots: Vec<Slot>,
}

impl Template {
    fn from_shape(shape: &'static str) -> Template {
        let slots = shape
            .bytes()
            .map(|b| {
                if b == b'D' {
                    Slot::Digit
                } else {
                    Slot::Letter(ALL_LETTERS)
                }
            })
            .collect();
        Template {
            format: PlateFormat::Eu,
            shape,
            slots,
        }
    }

    fn prior(&self) -> f32 {
        if self.shape.is_empty() {
            self.format.prior()
        } else {
            SHAPE_PRIOR
        }
    }

    /// Whether `t` (normalised, same length) fits the slots and the format's extra rules.
    fn fits(&self, t: &[u8]) -> bool {
        t.len() == self.slots.len()
            && self
                .slots
                .iter()
                .enumerate()
                .all(|(i, s)| s.accepts(t[i], i.checked_sub(1).map(|j| t[j])))
            && extra_rules(self.format, t)
    }
}

/// Rules beyond letter/digit positions.
fn extra_rules(format: PlateFormat, t: &[u8]) -> bool {
    match format {
        PlateFormat::FrenchSiv => &t[0..2] != b"SS" && &t[2..5] != b"000",
        PlateFormat::FrenchFni => {
            let n = t.len();
            let dept = &t[n - 2..];
            let dept_ok = dept == b"2A"
                || dept == b"2B"
                || (dept[0].is_ascii_digit() && dept[1].is_ascii_digit() && {
                    let d = (dept[0] - b'0') * 10 + (dept[1] - b'0');
                    (1..=95).contains(&d)
                });
            dept_ok && t[0] != b'0'
        }
        PlateFormat::SlovakStandard | PlateFormat::SlovakPersonal => is_sk_district(&t[0..2]),
        PlateFormat::Eu => true,
    }
}

/// Slovak district codes (evidenčné čísla vozidiel), from the list of the annex of Vyhláška MV SR č. 9/2009 Z. z.
/// (as amended; mirrored in Wikipedia, "Vehicle registration plates of Slovakia"): one code per district, and the
/// additional codes the large districts received when their series ran out (Bratislava BL, BT, BD, BE, BI; Banská
/// Bystrica BC; Košice KI; Nitra NI; Prešov PV; Trnava TA; Trenčín TC; Žilina ZI). A new code needs a line here.
pub const SK_DISTRICTS: &[[u8; 2]] = &[
    *b"BA", *b"BB", *b"BC", *b"BD", *b"BE", *b"BI", *b"BJ", *b"BL", *b"BN", *b"BR", *b"BS", *b"BT", *b"BY", *b"CA",
    *b"DK", *b"DS", *b"DT", *b"GA", *b"GL", *b"HC", *b"HE", *b"IL", *b"KA", *b"KE", *b"KI", *b"KK", *b"KM", *b"KN",
    *b"KS", *b"LC", *b"LE", *b"LM", *b"LV", *b"MA", *b"MI", *b"ML", *b"MT", *b"MY", *b"NI", *b"NM", *b"NO", *b"NR",
    *b"NZ", *b"PB", *b"PD", *b"PE", *b"PK", *b"PN", *b"PO", *b"PP", *b"PT", *b"PU", *b"PV", *b"RA", *b"RK", *b"RS",
    *b"RV", *b"SA", *b"SB", *b"SC", *b"SE", *b"SI", *b"SK", *b"SL", *b"SN", *b"SO", *b"SP", *b"SV", *b"TA", *b"TC",
    *b"TN", *b"TO", *b"TR", *b"TS", *b"TT", *b"TV", *b"VK", *b"VT", *b"ZA", *b"ZC", *b"ZH", *b"ZI", *b"ZM", *b"ZV",
];

/// Whether `code` (two upper-case letters) is a Slovak district code.
pub fn is_sk_district(code: &[u8]) -> bool {
    code.len() == 2 && SK_DISTRICTS.iter().any(|d| d[..] == *code)
}

/// Makes and models of vehicles whose badge is a district code and five letters: never read as a personalised
/// Slovak plate (a boot badge is a sure, well-printed line of text).
const BADGES: &[&str] = &[
    "BLUEHDI", "BLUETEC", "CALIBRA", "CAPTIVA", "CARISMA", "CAYENNE", "PEUGEOT", "PORSCHE", "SANDERO", "SANTAFE",
    "SENATOR", "SOLARIS", "SORENTO", "SPECIAL", "TOUAREG", "TOURING", "TOURNEO", "TRAFFIC", "TRANSIT",
];

/// The Slovak standard format: district, three digits, two letters.
fn slovak_templates(len: usize) -> Vec<Template> {
    if len != 7 {
        return Vec::new();
    }
    vec![Template {
        format: PlateFormat::SlovakStandard,
        shape: "",
        slots: vec![
            Slot::SkDistrict1,
            Slot::SkDistrict2,
            Slot::Digit,
            Slot::Digit,
            Slot::Digit,
            Slot::Letter(ALL_LETTERS),
            Slot::Letter(ALL_LETTERS),
        ],
    }]
}

/// Whether `t` has the shape of a Slovak personalised plate: a district code and five letters or digits.
fn fits_personal(t: &[u8]) -> bool {
    t.len() == 7
        && is_sk_district(&t[0..2])
        && t[2..].iter().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        && !BADGES.iter().any(|b| b.as_bytes() == t)
}

/// Whether the confusions could turn `t` into a standard plate (district, digits, letters): such a reading is
/// never taken as personalised (the standard format reads it).
fn repairable_to_standard(t: &[u8]) -> bool {
    let digit = |c: u8| c.is_ascii_digit() || partners(c).any(|p| p.is_ascii_digit());
    let letter = |c: u8| c.is_ascii_uppercase() || partners(c).any(|p| p.is_ascii_uppercase());
    t.len() == 7 && t[2..5].iter().all(|&c| digit(c)) && t[5..7].iter().all(|&c| letter(c))
}

/// Common shapes of other European plates (`L` letter, `D` digit), used by [`decide`] to repair confusions at
/// positions where the shape is sure: Slovakia and Italy `BA123AB` (the SIV shape with every letter); Czechia
/// `1AB2345` and the older `1B23456`; Croatia `ZG1234AB`; Poland and Norway `AB12345`, Poland `ABC1234`; Great
/// Britain `AB12CDE`. Readings that fit a shape score above the generic rule, below French formats. Rarer shapes
/// are left out on purpose: each shape also "repairs" the plates of the others (Croatia's `ZG1234A` would read the
/// Slovak `BA302OZ` as `BA3020Z`); plates of other shapes are read as they are, by the generic rule.
pub const EU_SHAPES: &[&str] = &[
    "LLDDDLL", "DLLDDDD", "DLDDDDD", "LLDDDDLL", "LLDDDDD", "LLLDDDD", "LLDDLLL",
];

fn french_templates(len: usize) -> Vec<Template> {
    let mut v = Vec::new();
    if len == 7 {
        v.push(Template {
            format: PlateFormat::FrenchSiv,
            shape: "",
            slots: vec![
                Slot::Letter(SIV_LETTERS),
                Slot::Letter(SIV_LETTERS),
                Slot::Digit,
                Slot::Digit,
                Slot::Digit,
                Slot::Letter(SIV_LETTERS),
                Slot::Letter(SIV_LETTERS),
            ],
        });
    }
    for d in 1..=4 {
        for l in 2..=3 {
            if d + l + 2 != len {
                continue;
            }
            let mut slots = vec![Slot::Digit; d];
            slots.extend(std::iter::repeat_n(Slot::Letter(FNI_LETTERS), l));
            slots.push(Slot::Digit);
            slots.push(Slot::Dept2);
            v.push(Template {
                format: PlateFormat::FrenchFni,
                shape: "",
                slots,
            });
        }
    }
    v
}

fn eu_templates(len: usize) -> Vec<Template> {
    EU_SHAPES
        .iter()
        .filter(|s| s.len() == len)
        .map(|s| Template::from_shape(s))
        .collect()
}

/// The format a normalised text fits exactly (French formats first), or `None` when it fits none.
pub fn classify(text: &str) -> Option<PlateFormat> {
    let t = text.as_bytes();
    if !t.iter().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()) {
        return None;
    }
    if let Some(tp) = french_templates(t.len())
        .iter()
        .chain(slovak_templates(t.len()).iter())
        .find(|tp| tp.fits(t))
    {
        return Some(tp.format);
    }
    if fits_personal(t) {
        return Some(PlateFormat::SlovakPersonal);
    }
    is_generic_eu(t).then_some(PlateFormat::Eu)
}

/// Pairs of symbols that OCR confuses, with the share of a character's probability that a substitution by its
/// partner keeps in [`decide`].
const CONFUSIONS: &[(u8, u8, f32)] = &[
    (b'O', b'0', 0.9),
    (b'I', b'1', 0.9),
    (b'D', b'0', 0.7),
    (b'Q', b'0', 0.6),
    (b'B', b'8', 0.8),
    (b'S', b'5', 0.8),
    (b'Z', b'2', 0.8),
    (b'G', b'6', 0.7),
];

/// The share of probability kept when `from` is read as `to` (0 when they are no known confusion).
fn confusion(from: u8, to: u8) -> f32 {
    CONFUSIONS
        .iter()
        .find(|&&(a, b, _)| (a == from && b == to) || (a == to && b == from))
        .map_or(0.0, |c| c.2)
}

/// The confusion partners of `c`, best first.
fn partners(c: u8) -> impl Iterator<Item = u8> {
    CONFUSIONS.iter().filter_map(move |&(a, b, _)| {
        if a == c {
            Some(b)
        } else if b == c {
            Some(a)
        } else {
            None
        }
    })
}

/// A plate text with its format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plate {
    pub text: String,
    pub format: PlateFormat,
}

/// Normalises `s` and repairs the usual confusions by position (see the module documentation); `None` when the
/// result is no plate of any format.
///
/// A valid French plate comes back unchanged; so does a valid generic EU plate that no confusion substitution turns
/// into a French plate. The result of `repair` repairs to itself.
pub fn repair(s: &str) -> Option<Plate> {
    let n = normalise(s);
    let t = n.as_bytes();
    let fr = french_templates(t.len());
    let sk = slovak_templates(t.len());
    if let Some(tp) = fr.iter().chain(sk.iter()).find(|tp| tp.fits(t)) {
        return Some(Plate {
            text: n,
            format: tp.format,
        });
    }
    // French formats first (Vigie is deployed in France), then the Slovak standard one.
    if let Some((out, format)) = repair_with(&fr, t).or_else(|| repair_with(&sk, t)) {
        return Some(Plate {
            text: String::from_utf8(out).unwrap_or_default(),
            format,
        });
    }
    classify(&n).map(|format| Plate { text: n, format })
}

/// The repair of `t` into one of `templates` with the fewest confusion substitutions, if any.
fn repair_with(templates: &[Template], t: &[u8]) -> Option<(Vec<u8>, PlateFormat)> {
    let mut best: Option<(usize, Vec<u8>, PlateFormat)> = None;
    for tp in templates {
        if tp.slots.len() != t.len() {
            continue;
        }
        let mut out = t.to_vec();
        let mut subs = 0;
        let mut ok = true;
        for i in 0..t.len() {
            let prev = i.checked_sub(1).map(|j| out[j]);
            if tp.slots[i].accepts(t[i], prev) {
                continue;
            }
            match partners(t[i]).find(|&p| tp.slots[i].accepts(p, prev)) {
                Some(p) => {
                    out[i] = p;
                    subs += 1;
                }
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if ok && extra_rules(tp.format, &out) && best.as_ref().is_none_or(|b| subs < b.0) {
            best = Some((subs, out, tp.format));
        }
    }
    best.map(|(_, out, format)| (out, format))
}

/// The reading [`decide`] chose.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub text: String,
    pub format: PlateFormat,
    /// Mean probability of the characters (a confusion substitution keeps part of the replaced character's).
    pub confidence: f32,
    /// Per-character confidence.
    pub char_confidence: Vec<f32>,
    /// `confidence` times the format's prior: what readings are ranked by.
    pub score: f32,
    /// Characters that differ from the most probable reading.
    pub substitutions: usize,
    /// Index of the character of the recognised line that was dropped, if any.
    pub dropped: Option<usize>,
}

/// A substituted character must keep at least this value, or the reading is dropped.
const MIN_SUBSTITUTE: f32 = 0.2;
/// Characters whose symbol probabilities add up to less than this may be dropped.
const DROP_BELOW: f32 = 0.8;
/// Score factor of a reading with a dropped character.
const DROP_FACTOR: f32 = 0.97;

/// Best reading of `probs` under `tp`: each position takes its allowed symbol of highest value, where a symbol's
/// value is its own probability plus a share of the probability of each confusion partner the position does not
/// allow (a position that wants a letter turns most of a `0`'s probability into an `O`'s).
fn constrained(probs: &[CharProbs], tp: &Template) -> Option<Decision> {
    if probs.len() != tp.slots.len() {
        return None;
    }
    let mut text = Vec::with_capacity(probs.len());
    let mut conf = Vec::with_capacity(probs.len());
    let mut subs = 0;
    for (i, p) in probs.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| text[j]);
        let slot = tp.slots[i];
        let value = |k: usize| -> f32 {
            let mut v = p[k];
            for (j, &pj) in p.iter().enumerate() {
                if j != k && pj > 0.0 && !slot.accepts(ALPHABET[j], prev) {
                    v += pj * confusion(ALPHABET[j], ALPHABET[k]);
                }
            }
            v.min(1.0)
        };
        let (k, v) = (0..36)
            .filter(|&k| slot.accepts(ALPHABET[k], prev))
            .map(|k| (k, value(k)))
            .fold((usize::MAX, -1.0f32), |a, b| if b.1 > a.1 { b } else { a });
        if k == usize::MAX {
            return None;
        }
        if k != argmax(p) {
            if v < MIN_SUBSTITUTE {
                return None;
            }
            subs += 1;
        }
        text.push(ALPHABET[k]);
        conf.push(v);
    }
    // The extra rules may still fail (SS, 000, département 00 or above 95).
    if !extra_rules(tp.format, &text) {
        return None;
    }
    let confidence = mean(&conf);
    Some(Decision {
        text: String::from_utf8(text).unwrap_or_default(),
        format: tp.format,
        confidence,
        char_confidence: conf,
        score: confidence * tp.prior(),
        substitutions: subs,
        dropped: None,
    })
}

fn argmax(p: &CharProbs) -> usize {
    let mut best = 0;
    for k in 1..36 {
        if p[k] > p[best] {
            best = k;
        }
    }
    best
}

fn mean(v: &[f32]) -> f32 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f32>() / v.len() as f32
    }
}

/// Chooses the plate text of one recognised line from its per-character probabilities: the most probable reading
/// when it fits a format, and the best reading constrained by each French format and EU shape of that length; the
/// highest score wins (see the module documentation). `None` when no reading is a plate.
pub fn decide(probs: &[CharProbs]) -> Option<Decision> {
    let n = probs.len();
    if !(5..=10).contains(&n) {
        return None;
    }
    let mut cands: Vec<Decision> = Vec::new();
    let raw: Vec<u8> = probs.iter().map(|p| ALPHABET[argmax(p)]).collect();
    let raw_text = String::from_utf8(raw).unwrap_or_default();
    let conf: Vec<f32> = probs.iter().map(|p| p[argmax(p)]).collect();
    let raw_format = match classify(&raw_text) {
        Some(PlateFormat::SlovakPersonal) if sure_personal(&raw_text, &conf) => Some(PlateFormat::SlovakPersonal),
        // Not sure enough to be personalised: only the generic rule (a digit and a letter) may keep it as read.
        Some(PlateFormat::SlovakPersonal | PlateFormat::Eu) if is_generic_eu(raw_text.as_bytes()) => {
            Some(PlateFormat::Eu)
        }
        _ => None,
    };
    if let Some(format) = raw_format {
        let confidence = mean(&conf);
        cands.push(Decision {
            text: raw_text,
            format,
            confidence,
            char_confidence: conf,
            score: confidence * format.prior(),
            substitutions: 0,
            dropped: None,
        });
    }
    for tp in french_templates(n)
        .iter()
        .chain(slovak_templates(n).iter())
        .chain(eu_templates(n).iter())
    {
        if let Some(d) = constrained(probs, tp) {
            cands.push(d);
        }
    }
    if n > 5 {
        let shorter: Vec<Template> = french_templates(n - 1)
            .into_iter()
            .chain(slovak_templates(n - 1))
            .chain(eu_templates(n - 1))
            .collect();
        for i in 0..n {
            if probs[i].iter().sum::<f32>() >= DROP_BELOW {
                continue;
            }
            let rest: Vec<CharProbs> = probs
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, p)| *p)
                .collect();
            for tp in &shorter {
                if let Some(mut d) = constrained(&rest, tp) {
                    d.score *= DROP_FACTOR;
                    d.dropped = Some(i);
                    cands.push(d);
                }
            }
        }
    }
    cands.into_iter().fold(None, |best: Option<Decision>, d| match best {
        Some(b) if b.score >= d.score => Some(b),
        _ => Some(d),
    })
}

/// Each character of a personalised reading must be at least this sure (its most probable symbol's probability).
pub const PERSONAL_MIN_CHAR: f32 = 0.9;

/// Whether a raw reading that has the shape of a Slovak personalised plate may be taken as one: every character
/// sure ([`PERSONAL_MIN_CHAR`]), no known badge, no French format or EU shape that fits it as it is, and no standard
/// Slovak plate the confusions could make of it (those formats read it instead).
fn sure_personal(text: &str, conf: &[f32]) -> bool {
    let t = text.as_bytes();
    fits_personal(t)
        && conf.iter().all(|&c| c >= PERSONAL_MIN_CHAR)
        && !repairable_to_standard(t)
        && !french_templates(t.len())
            .iter()
            .chain(eu_templates(t.len()).iter())
            .any(|tp| tp.fits(t))
}

/// The generic EU rule: 5-8 letters and digits, at least one of each.
fn is_generic_eu(t: &[u8]) -> bool {
    let digits = t.iter().filter(|c| c.is_ascii_digit()).count();
    (5..=8).contains(&t.len())
        && digits > 0
        && digits < t.len()
        && t.iter().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
}

/// One-hot probabilities of a text (each character certain), for tests and for texts that come without
/// probabilities. Characters outside [`ALPHABET`] are skipped.
pub fn certain(text: &str) -> Vec<CharProbs> {
    text.bytes()
        .filter_map(symbol_index)
        .map(|k| {
            let mut p = [0.0; 36];
            p[k] = 1.0;
            p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalise_drops_separators_and_folds() {
        assert_eq!(normalise("ab-123 · cd"), "AB123CD");
        assert_eq!(normalise("1234 ab 56"), "1234AB56");
        assert_eq!(normalise("ВА-123-КМ"), "BA123KM"); // Cyrillic look-alikes
        assert_eq!(normalise("ＡＢ１２"), "AB12");
        assert_eq!(normalise("é!?"), "");
    }

    #[test]
    fn classify_formats() {
        assert_eq!(classify("AB123CD"), Some(PlateFormat::FrenchSiv));
        assert_eq!(classify("WW123AA"), Some(PlateFormat::FrenchSiv));
        assert_eq!(classify("1234AB56"), Some(PlateFormat::FrenchFni));
        assert_eq!(classify("12ABC2A"), Some(PlateFormat::FrenchFni));
        assert_eq!(classify("1AB75"), Some(PlateFormat::FrenchFni));
        // Letters SIV excludes, the SS block, number 000: not SIV but still generic EU.
        assert_eq!(classify("AO123CD"), Some(PlateFormat::Eu));
        assert_eq!(classify("SS123AB"), Some(PlateFormat::Eu));
        assert_eq!(classify("AB000CD"), Some(PlateFormat::Eu));
        // Département 00 / 96, leading zero: not FNI.
        assert_eq!(classify("123AB00"), Some(PlateFormat::Eu));
        assert_eq!(classify("0123AB75"), Some(PlateFormat::Eu));
        assert_eq!(classify("ZG1234AB"), Some(PlateFormat::Eu));
        assert_eq!(classify("1AB2345"), Some(PlateFormat::Eu));
        assert_eq!(classify("SILUMA"), None);
        assert_eq!(classify("123456"), None);
        assert_eq!(classify("AB12"), None);
        assert_eq!(classify("ABCDE12345"), None);
        assert_eq!(classify("ab123cd"), None, "classify expects normalised text");
    }

    #[test]
    fn repair_fixes_confusions_by_position() {
        let r = |s: &str| repair(s).map(|p| (p.text, p.format));
        assert_eq!(r("AB-I23-CD"), Some(("AB123CD".into(), PlateFormat::FrenchSiv)));
        assert_eq!(r("A8-123-C0"), Some(("AB123CD".into(), PlateFormat::FrenchSiv)));
        assert_eq!(r("AB-1Z3-C5"), Some(("AB123CS".into(), PlateFormat::FrenchSiv)));
        assert_eq!(r("12 AB 7S"), Some(("12AB75".into(), PlateFormat::FrenchFni)));
        assert_eq!(r("1234 A8 2B"), Some(("1234AB2B".into(), PlateFormat::FrenchFni)));
        // Valid EU plates far from French formats are kept.
        assert_eq!(r("ZG 1234-AB"), Some(("ZG1234AB".into(), PlateFormat::Eu)));
        assert_eq!(r("1AB 2345"), Some(("1AB2345".into(), PlateFormat::Eu)));
        assert_eq!(r("SILUMA"), None);
        assert_eq!(r(""), None);
    }

    #[test]
    fn slovak_formats() {
        assert!(is_sk_district(b"KM") && is_sk_district(b"RK") && is_sk_district(b"ZV") && is_sk_district(b"BA"));
        assert!(!is_sk_district(b"FE") && !is_sk_district(b"AB") && !is_sk_district(b"K"));
        // Letters SIV excludes, or the number 000: Slovak standard, not SIV.
        assert_eq!(classify("RK340AO"), Some(PlateFormat::SlovakStandard));
        assert_eq!(classify("BA000UI"), Some(PlateFormat::SlovakStandard));
        // Both grammars fit: French first.
        assert_eq!(classify("RK099AN"), Some(PlateFormat::FrenchSiv));
        // District + five characters: personalised; not a district: nothing (letters only) or generic EU.
        assert_eq!(classify("KMBORAK"), Some(PlateFormat::SlovakPersonal));
        assert_eq!(classify("FELICIA"), None);
        assert_eq!(classify("PEUGEOT"), None, "a known badge");
        assert_eq!(classify("AB1CDEF"), Some(PlateFormat::Eu));
        assert_eq!(
            PlateFormat::from_name(PlateFormat::SlovakPersonal.as_str()),
            PlateFormat::SlovakPersonal
        );
        assert_eq!(
            PlateFormat::from_name(PlateFormat::SlovakStandard.as_str()),
            PlateFormat::SlovakStandard
        );
        assert_eq!(PlateFormat::from_name("nonsense"), PlateFormat::Eu);
        for f in [
            PlateFormat::FrenchSiv,
            PlateFormat::FrenchFni,
            PlateFormat::SlovakStandard,
            PlateFormat::SlovakPersonal,
            PlateFormat::Eu,
        ] {
            assert_eq!(
                serde_json::to_value(f).unwrap(),
                f.as_str(),
                "the JSON name is the name"
            );
            assert_eq!(PlateFormat::from_name(f.as_str()), f);
        }
    }

    #[test]
    fn slovak_repair_by_position() {
        let r = |s: &str| repair(s).map(|p| (p.text, p.format));
        // The digits of a standard plate: O -> 0 (French SIV repairs it first when it can).
        assert_eq!(r("RK-O99AN"), Some(("RK099AN".into(), PlateFormat::FrenchSiv)));
        // SIV cannot (the letter O at the end): the Slovak standard format repairs the digit.
        assert_eq!(r("RK-3O9AO"), Some(("RK309AO".into(), PlateFormat::SlovakStandard)));
        // The district repairs too: 8A -> BA.
        assert_eq!(r("8A-123UI"), Some(("BA123UI".into(), PlateFormat::SlovakStandard)));
        // A personalised plate is kept as it is: no position of it fixes the kind of character.
        assert_eq!(r("KM-BORAK"), Some(("KMBORAK".into(), PlateFormat::SlovakPersonal)));
        assert_eq!(r("KM-B0RAK"), Some(("KMB0RAK".into(), PlateFormat::SlovakPersonal)));
    }

    #[test]
    fn decide_slovak_personalised_only_when_sure() {
        // Sure raw reading: kept, not "repaired" to KM80RAK by a shape.
        let d = decide(&certain("KMBORAK")).unwrap();
        assert_eq!(
            (d.text.as_str(), d.format, d.substitutions),
            ("KMBORAK", PlateFormat::SlovakPersonal, 0)
        );
        // One unsure character: not personalised; the GB shape reads it as before.
        let mut p = certain("KMBORAI");
        p[6][symbol_index(b'I').unwrap()] = 0.79;
        let d = decide(&p).unwrap();
        assert_eq!((d.text.as_str(), d.format), ("KM80RAI", PlateFormat::Eu));
        // A reading the confusions make standard is read as standard: the ground truth's RKO99AN is RK099AN.
        assert_eq!(decide(&certain("RKO99AN")).unwrap().text, "RK099AN");
        assert_eq!(decide(&certain("RK3OOAG")).unwrap().text, "RK300AG");
        // Badges: not a district, or a known make, are no personalised plates.
        assert!(decide(&certain("FELICIA")).is_none());
        assert!(decide(&certain("PEUGEOT")).is_none());
        assert!(decide(&certain("SANDERO")).is_none());
        // A Slovak standard plate with letters SIV excludes keeps them.
        let d = decide(&certain("BA302OZ")).unwrap();
        assert_eq!((d.text.as_str(), d.format), ("BA302OZ", PlateFormat::SlovakStandard));
    }

    fn onehot_with(text: &str, pos: usize, alt: u8, p_alt: f32) -> Vec<CharProbs> {
        let mut v = certain(text);
        let k = symbol_index(text.as_bytes()[pos]).unwrap();
        v[pos][k] = 1.0 - p_alt;
        v[pos][symbol_index(alt).unwrap()] = p_alt;
        v
    }

    #[test]
    fn decide_repairs_with_probabilities() {
        // "AB-O23-CD": O where SIV wants a digit: repaired to 0 even when O is very sure.
        let d = decide(&certain("ABO23CD")).unwrap();
        assert_eq!(
            (d.text.as_str(), d.format, d.substitutions),
            ("AB023CD", PlateFormat::FrenchSiv, 1)
        );
        assert!(d.confidence > 0.98 && d.confidence < 1.0);
        // A Slovak plate with a letter O where SIV forbids it keeps its O (the Slovak format allows it).
        let d = decide(&certain("RK340AO")).unwrap();
        assert_eq!((d.text.as_str(), d.format), ("RK340AO", PlateFormat::SlovakStandard));
        // A Czech plate read with 8 for the B: the shape DLDDDDD repairs it.
        let d = decide(&certain("1880338")).unwrap();
        assert_eq!(d.text, "1B80338");
        // A second-best letter with some probability wins over an impossible digit.
        let d = decide(&onehot_with("AB123C4", 6, b'A', 0.3)).unwrap();
        assert_eq!(d.text, "AB123CA");
        assert!(decide(&certain("SILUMA")).is_none());
        assert!(decide(&certain("KIA")).is_none());
        assert!(decide(&certain("FELICIA")).is_none(), "L -> 1 has no support");
        // A '0' in a letter position of an LLDDDLL plate: the letter O (a closer confusion than D), not SIV's D.
        assert_eq!(decide(&certain("PP587A0")).unwrap().text, "PP587AO");
    }

    #[test]
    fn decide_drops_one_uncertain_character() {
        // The coat of arms at the left read as a doubtful 'E' (the rest of the step's probability is no symbol).
        let mut p = certain("ERK099AN");
        p[0][symbol_index(b'E').unwrap()] = 0.5;
        let d = decide(&p).unwrap();
        assert_eq!((d.text.as_str(), d.dropped), ("RK099AN", Some(0)));
        // An inspection sticker between the groups of a Czech plate read as a doubtful 8.
        let mut p = certain("4B281875");
        p[3][8] = 0.55;
        let d = decide(&p).unwrap();
        assert_eq!(d.text, "4B21875");
        // A character unsure between I and 1 is kept, and the shape decides.
        let d = decide(&onehot_with("LM298A1", 6, b'I', 0.45)).unwrap();
        assert_eq!((d.text.as_str(), d.dropped), ("LM298AI", None));
        assert!(d.confidence > 0.95, "the 1 supports the I: {}", d.confidence);
        // A sure character is never dropped: a Croatian plate stays whole.
        let d = decide(&certain("ZG1234AB")).unwrap();
        assert_eq!((d.text.as_str(), d.dropped), ("ZG1234AB", None));
    }

    fn siv() -> impl Strategy<Value = String> {
        let l = "[A-HJ-NP-TV-Z]";
        (
            proptest::string::string_regex(&format!("{l}{{2}}")).unwrap(),
            1u32..1000,
            proptest::string::string_regex(&format!("{l}{{2}}")).unwrap(),
        )
            .prop_filter("SS", |(a, _, _)| a != "SS")
            .prop_map(|(a, n, b)| format!("{a}-{n:03}-{b}"))
    }

    fn fni() -> impl Strategy<Value = String> {
        (
            1u32..10000,
            proptest::string::string_regex("[A-HJ-NP-Z]{2,3}").unwrap(),
            prop_oneof![
                (1u32..=95).prop_map(|d| format!("{d:02}")),
                Just("2A".to_string()),
                Just("2B".to_string())
            ],
        )
            .prop_map(|(n, l, d)| format!("{n} {l} {d}"))
    }

    fn sk_district() -> impl Strategy<Value = String> {
        proptest::sample::select(SK_DISTRICTS).prop_map(|d| String::from_utf8_lossy(&d).into_owned())
    }

    fn slovak() -> impl Strategy<Value = String> {
        (
            sk_district(),
            0u32..1000,
            proptest::string::string_regex("[A-Z]{2}").unwrap(),
        )
            .prop_map(|(d, n, l)| format!("{d}-{n:03}{l}"))
    }

    fn slovak_personal() -> impl Strategy<Value = String> {
        (sk_district(), proptest::string::string_regex("[A-Z0-9]{5}").unwrap())
            .prop_filter("not a badge", |(d, t)| !BADGES.contains(&format!("{d}{t}").as_str()))
            .prop_map(|(d, t)| format!("{d}-{t}"))
    }

    fn eu() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[A-Z0-9]{5,8}")
            .unwrap()
            .prop_filter("a digit and a letter", |s| {
                s.bytes().any(|c| c.is_ascii_digit()) && s.bytes().any(|c| c.is_ascii_uppercase())
            })
    }

    proptest! {
        #[test]
        fn valid_siv_survives(p in siv()) {
            let r = repair(&p).unwrap();
            prop_assert_eq!(r.text, normalise(&p));
            prop_assert_eq!(r.format, PlateFormat::FrenchSiv);
            let d = decide(&certain(&p)).unwrap();
            prop_assert_eq!(d.text, normalise(&p));
        }

        #[test]
        fn valid_fni_survives(p in fni()) {
            let r = repair(&p).unwrap();
            prop_assert_eq!(r.text, normalise(&p));
            prop_assert_eq!(r.format, PlateFormat::FrenchFni);
            let d = decide(&certain(&p)).unwrap();
            prop_assert_eq!(d.text, normalise(&p));
        }

        /// A valid Slovak standard plate is never changed, by text repair or by the decision on a sure reading.
        #[test]
        fn valid_slovak_survives(p in slovak()) {
            let r = repair(&p).unwrap();
            prop_assert_eq!(&r.text, &normalise(&p));
            prop_assert!(matches!(r.format, PlateFormat::SlovakStandard | PlateFormat::FrenchSiv));
            let d = decide(&certain(&p)).unwrap();
            prop_assert_eq!(d.text, normalise(&p));
        }

        /// A personalised plate survives text repair unless the confusions make it a standard plate; a sure reading
        /// of it is decided unchanged unless a format or shape reads it (then it is one of those plates).
        #[test]
        fn valid_slovak_personal_survives(p in slovak_personal()) {
            let n = normalise(&p);
            let r = repair(&p).unwrap();
            if r.text != n {
                prop_assert!(matches!(r.format, PlateFormat::FrenchSiv | PlateFormat::FrenchFni | PlateFormat::SlovakStandard));
            }
            if sure_personal(&n, &[1.0; 7]) {
                let d = decide(&certain(&p)).unwrap();
                prop_assert_eq!((d.text, d.format), (n, PlateFormat::SlovakPersonal));
            }
        }

        /// A valid generic EU plate survives unless it is one confusion away from a French plate.
        #[test]
        fn valid_eu_survives(p in eu()) {
            let r = repair(&p).unwrap();
            if r.text != p {
                prop_assert!(
                    matches!(r.format, PlateFormat::FrenchSiv | PlateFormat::FrenchFni | PlateFormat::SlovakStandard),
                    "{} -> {:?}", p, r
                );
                prop_assert_eq!(r.text.len(), p.len());
            }
        }

        #[test]
        fn repair_is_idempotent(s in "[A-Z0-9 .-]{0,12}") {
            if let Some(r) = repair(&s) {
                prop_assert_eq!(repair(&r.text), Some(r.clone()));
                prop_assert_eq!(classify(&r.text), Some(r.format));
            }
        }

        #[test]
        fn random_strings_never_panic(s in "\\PC{0,24}") {
            let n = normalise(&s);
            prop_assert!(n.bytes().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
            let _ = classify(&n);
            let _ = repair(&s);
            let _ = decide(&certain(&n));
        }

        #[test]
        fn decide_never_panics_on_random_probabilities(
            v in proptest::collection::vec(proptest::array::uniform32(0f32..1.0), 0..10),
            w in proptest::collection::vec(proptest::array::uniform4(0f32..1.0), 0..10),
        ) {
            let probs: Vec<CharProbs> = v.iter().zip(w.iter().cycle()).map(|(a, b)| {
                let mut p = [0.0; 36];
                p[..32].copy_from_slice(a);
                p[32..].copy_from_slice(b);
                p
            }).collect();
            if let Some(d) = decide(&probs) {
                prop_assert_eq!(d.text.len() + d.dropped.is_some() as usize, probs.len());
                prop_assert!(classify(&d.text).is_some());
                prop_assert!(d.confidence >= 0.0 && d.confidence <= 1.0 + 1e-5);
            }
        }
    }
}
