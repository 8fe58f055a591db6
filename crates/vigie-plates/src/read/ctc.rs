//! Greedy CTC decoding of the recogniser's output, restricted to plate symbols. Pure.
//!
//! The recogniser (PP-OCR, CTC head) outputs, for each of `T` time steps, a softmax over its `C` classes: index 0 is
//! the CTC blank, then the model's character list (ONNX metadata key `character`, one character per line), then a
//! space. Each class is mapped to a [`Token`]: a plate symbol ([`ALPHABET`](crate::grammar::ALPHABET); lower-case
//! and look-alike letters of other scripts fold into it, see [`fold_char`]), a separator
//! (space, dash, dot, ...), or anything else. At each step the probabilities of the classes of one symbol are
//! added; the step's label is the most probable of blank, separator, the best other class and each symbol. Runs of
//! one label collapse to one character; blanks, separators and other characters are dropped (they still end a
//! run, so `A-A` reads `AA`). Each character keeps the 36 symbol probabilities of its most confident step, for the
//! grammar to weigh alternatives ([`decide`](crate::grammar::decide)).

use crate::grammar::{CharProbs, fold_char};

/// What a class of the recogniser stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    Blank,
    /// A separator: space, dash, dot, middle dot, colon, ...
    Sep,
    /// A plate symbol, index into [`ALPHABET`](crate::grammar::ALPHABET).
    Sym(u8),
    /// Any other character.
    Other,
}

/// The recogniser's classes as tokens.
#[derive(Clone, Debug)]
pub struct Vocab {
    tokens: Vec<Token>,
    /// Classes per symbol (for summing).
    sym_classes: Vec<Vec<u32>>,
    sep_classes: Vec<u32>,
    other_classes: Vec<u32>,
}

fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '-' | '.' | '·' | '•' | ':' | '_' | '‐' | '‑' | '–' | '—' | '−' | '・' | '。' | '，' | ','
    )
}

impl Vocab {
    /// From the model's character list (one per line, as stored in the ONNX metadata): blank first, then each
    /// line, then a space.
    pub fn from_character_list(list: &str) -> Vocab {
        let mut tokens = vec![Token::Blank];
        for line in list.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let mut chars = line.chars();
            let t = match (chars.next(), chars.next()) {
                (Some(c), None) => {
                    if is_separator(c) {
                        Token::Sep
                    } else {
                        fold_char(c)
                            .and_then(crate::grammar::symbol_index)
                            .map_or(Token::Other, |k| Token::Sym(k as u8))
                    }
                }
                _ => Token::Other,
            };
            tokens.push(t);
        }
        tokens.push(Token::Sep);
        Vocab::from_tokens(tokens)
    }

    pub fn from_tokens(tokens: Vec<Token>) -> Vocab {
        let mut sym_classes = vec![Vec::new(); 36];
        let mut sep_classes = Vec::new();
        let mut other_classes = Vec::new();
        for (i, t) in tokens.iter().enumerate() {
            match *t {
                Token::Sym(k) => sym_classes[k as usize].push(i as u32),
                Token::Sep => sep_classes.push(i as u32),
                Token::Other => other_classes.push(i as u32),
                Token::Blank => {}
            }
        }
        Vocab {
            tokens,
            sym_classes,
            sep_classes,
            other_classes,
        }
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Number of classes standing for plate symbols.
    pub fn symbol_classes(&self) -> usize {
        self.sym_classes.iter().map(Vec::len).sum()
    }

    pub fn token(&self, class: usize) -> Option<Token> {
        self.tokens.get(class).copied()
    }
}

/// One recognised line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Line {
    /// Per character: the symbol probabilities at its most confident step.
    pub chars: Vec<CharProbs>,
    /// The most probable symbol of each character, for display.
    pub text: String,
    /// Time step of each character (its most confident one), out of `steps`.
    pub positions: Vec<usize>,
    pub steps: usize,
}

/// Label of one step: blank, separator, other, or a symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Label {
    Gap,
    Sym(u8),
}

/// Decodes one line from `probs` (`steps * classes`, row-major: `classes` values per step).
pub fn decode(vocab: &Vocab, probs: &[f32], steps: usize) -> Line {
    let c = vocab.len();
    let mut line = Line {
        steps,
        ..Line::default()
    };
    if c == 0 || probs.len() < steps * c {
        return line;
    }
    let mut prev = Label::Gap;
    for t in 0..steps {
        let row = &probs[t * c..(t + 1) * c];
        let mut sym = [0f32; 36];
        for (k, cl) in vocab.sym_classes.iter().enumerate() {
            sym[k] = cl.iter().map(|&i| row[i as usize]).sum();
        }
        let blank = row[0];
        let sep: f32 = vocab.sep_classes.iter().map(|&i| row[i as usize]).sum();
        let other = vocab
            .other_classes
            .iter()
            .map(|&i| row[i as usize])
            .fold(0.0f32, f32::max);
        let (mut best_k, mut best_p) = (0usize, sym[0]);
        for (k, &p) in sym.iter().enumerate().skip(1) {
            if p > best_p {
                best_k = k;
                best_p = p;
            }
        }
        let label = if best_p > blank && best_p > sep && best_p > other {
            Label::Sym(best_k as u8)
        } else {
            Label::Gap
        };
        if let Label::Sym(k) = label {
            if prev == label {
                // Same run: keep the most confident step.
                let last = line.chars.len() - 1;
                if best_p > line.chars[last][k as usize] {
                    line.chars[last] = sym;
                    line.positions[last] = t;
                }
            } else {
                line.chars.push(sym);
                line.positions.push(t);
                line.text.push(crate::grammar::ALPHABET[k as usize] as char);
            }
        }
        prev = label;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocab_maps_symbols_separators_and_others() {
        let v = Vocab::from_character_list("a\nA\n-\n中\n0\nК\nab");
        assert_eq!(v.len(), 9); // blank + 7 lines + space
        assert_eq!(v.token(0), Some(Token::Blank));
        assert_eq!(v.token(1), Some(Token::Sym(10)));
        assert_eq!(v.token(2), Some(Token::Sym(10)));
        assert_eq!(v.token(3), Some(Token::Sep));
        assert_eq!(v.token(4), Some(Token::Other));
        assert_eq!(v.token(5), Some(Token::Sym(0)));
        assert_eq!(v.token(6), Some(Token::Sym(20))); // Cyrillic К -> K
        assert_eq!(v.token(7), Some(Token::Other));
        assert_eq!(v.token(8), Some(Token::Sep));
        assert_eq!(v.symbol_classes(), 4);
    }

    /// Steps as (class, probability) with the rest spread on class 0.
    fn probs(c: usize, steps: &[(usize, f32)]) -> Vec<f32> {
        let mut p = vec![0.0; steps.len() * c];
        for (t, &(k, v)) in steps.iter().enumerate() {
            p[t * c] = 1.0 - v;
            p[t * c + k] += v;
        }
        p
    }

    #[test]
    fn decode_collapses_runs_and_drops_gaps() {
        // classes: 0 blank, 1 'A', 2 'a', 3 '-', 4 '中', 5 '1', 6 ' '
        let v = Vocab::from_character_list("A\na\n-\n中\n1");
        let p = probs(
            7,
            &[
                (1, 0.9),
                (2, 0.95),
                (0, 1.0),
                (1, 0.8),
                (3, 0.9),
                (1, 0.7),
                (4, 0.9),
                (5, 0.6),
                (5, 0.99),
            ],
        );
        let l = decode(&v, &p, 9);
        assert_eq!(l.text, "AAA1");
        assert_eq!(l.chars.len(), 4);
        // First A: the best of its two steps (0.95 of lower-case a), at step 1.
        assert!((l.chars[0][10] - 0.95).abs() < 1e-6);
        assert_eq!(l.positions, vec![1, 3, 5, 8]);
        assert!((l.chars[3][1] - 0.99).abs() < 1e-6);
    }

    #[test]
    fn upper_and_lower_case_add_up() {
        let v = Vocab::from_character_list("A\na\n0");
        // Step: A 0.3, a 0.3, 0 0.4: A wins with 0.6.
        let p = vec![0.0, 0.3, 0.3, 0.4, 0.0];
        let l = decode(&v, &p, 1);
        assert_eq!(l.text, "A");
        assert!((l.chars[0][10] - 0.6).abs() < 1e-6 && (l.chars[0][0] - 0.4).abs() < 1e-6);
    }

    #[test]
    fn short_input_decodes_nothing() {
        let v = Vocab::from_character_list("A");
        assert_eq!(decode(&v, &[0.5], 3).chars.len(), 0);
    }
}
