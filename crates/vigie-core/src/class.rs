//! Object classes. Vigie's detectors speak COCO-80; [`ClassSet`] is the subset a deployment keeps.

use crate::error::{Error, ErrorKind, Result};

/// A class index into the detector's label list (COCO-80 for the shipped detector).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClassId(pub u16);

/// The 80 COCO class names, in the standard order used by NanoDet, YOLOX and YOLOv8 exports.
pub const COCO80: [&str; 80] = [
    "person",
    "bicycle",
    "car",
    "motorcycle",
    "airplane",
    "bus",
    "train",
    "truck",
    "boat",
    "traffic light",
    "fire hydrant",
    "stop sign",
    "parking meter",
    "bench",
    "bird",
    "cat",
    "dog",
    "horse",
    "sheep",
    "cow",
    "elephant",
    "bear",
    "zebra",
    "giraffe",
    "backpack",
    "umbrella",
    "handbag",
    "tie",
    "suitcase",
    "frisbee",
    "skis",
    "snowboard",
    "sports ball",
    "kite",
    "baseball bat",
    "baseball glove",
    "skateboard",
    "surfboard",
    "tennis racket",
    "bottle",
    "wine glass",
    "cup",
    "fork",
    "knife",
    "spoon",
    "bowl",
    "banana",
    "apple",
    "sandwich",
    "orange",
    "broccoli",
    "carrot",
    "hot dog",
    "pizza",
    "donut",
    "cake",
    "chair",
    "couch",
    "potted plant",
    "bed",
    "dining table",
    "toilet",
    "tv",
    "laptop",
    "mouse",
    "remote",
    "keyboard",
    "cell phone",
    "microwave",
    "oven",
    "toaster",
    "sink",
    "refrigerator",
    "book",
    "clock",
    "vase",
    "scissors",
    "teddy bear",
    "hair drier",
    "toothbrush",
];

/// The classes Vigie keeps by default: people, two-wheelers, vehicles, carried objects, and `knife` (the only
/// weapon-like COCO class).
pub const DEFAULT_KEPT: [&str; 10] = [
    "person",
    "bicycle",
    "car",
    "motorcycle",
    "bus",
    "truck",
    "backpack",
    "handbag",
    "suitcase",
    "knife",
];

/// Classes that may be confused with one another by a detector and still be the same object: a track never
/// matches a detection of another group, and within a group a class change only costs
/// the tracker's class-mismatch cost; the detector also suppresses overlapping boxes of one group (a van seen
/// as both `car` and `truck`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClassGroup {
    /// COCO `person` (0).
    Person,
    /// COCO `bicycle` (1), `motorcycle` (3).
    TwoWheeler,
    /// COCO `car` (2), `bus` (5), `truck` (7).
    Vehicle,
    /// COCO `backpack` (24), `handbag` (26), `suitcase` (28).
    Carried,
    /// Any other class, which matches only itself (e.g. `knife`, 43).
    Other(ClassId),
}

/// The group of a COCO-80 class id (the tracker's view; see [`group_of_label`] for any label list).
pub fn class_group(c: ClassId) -> ClassGroup {
    match c.0 {
        0 => ClassGroup::Person,
        1 | 3 => ClassGroup::TwoWheeler,
        2 | 5 | 7 => ClassGroup::Vehicle,
        24 | 26 | 28 => ClassGroup::Carried,
        _ => ClassGroup::Other(c),
    }
}

/// The group of a class by its label, for any label list (COCO names).
pub fn group_of_label(label: &str, id: ClassId) -> ClassGroup {
    match label {
        "person" => ClassGroup::Person,
        "bicycle" | "motorcycle" => ClassGroup::TwoWheeler,
        "car" | "bus" | "truck" => ClassGroup::Vehicle,
        "backpack" | "handbag" | "suitcase" => ClassGroup::Carried,
        _ => ClassGroup::Other(id),
    }
}

/// A set of kept classes over a label list: detections of other classes are dropped before tracking.
#[derive(Clone, Debug)]
pub struct ClassSet {
    labels: Vec<String>,
    kept: Vec<bool>,
}

impl ClassSet {
    /// Keeps `names` out of `labels`; an unknown name is a [`ErrorKind::Config`] error naming it.
    pub fn new(labels: &[String], names: &[String]) -> Result<Self> {
        let mut kept = vec![false; labels.len()];
        for n in names {
            let i = labels.iter().position(|l| l == n).ok_or_else(|| {
                Error::new(
                    ErrorKind::Config,
                    format!("unknown class {n:?}: the detector's labels are {}", labels.join(", ")),
                )
            })?;
            kept[i] = true;
        }
        Ok(ClassSet {
            labels: labels.to_vec(),
            kept,
        })
    }

    /// COCO-80 labels with [`DEFAULT_KEPT`].
    pub fn coco_default() -> Self {
        let labels: Vec<String> = COCO80.iter().map(|s| s.to_string()).collect();
        let names: Vec<String> = DEFAULT_KEPT.iter().map(|s| s.to_string()).collect();
        ClassSet::new(&labels, &names).expect("DEFAULT_KEPT are COCO names")
    }

    pub fn keeps(&self, c: ClassId) -> bool {
        self.kept.get(c.0 as usize).copied().unwrap_or(false)
    }

    /// The group of a class, by its label.
    pub fn group(&self, c: ClassId) -> ClassGroup {
        group_of_label(self.name(c), c)
    }

    pub fn name(&self, c: ClassId) -> &str {
        self.labels.get(c.0 as usize).map(String::as_str).unwrap_or("unknown")
    }

    pub fn id(&self, name: &str) -> Option<ClassId> {
        self.labels.iter().position(|l| l == name).map(|i| ClassId(i as u16))
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The kept classes, in label order.
    pub fn kept(&self) -> impl Iterator<Item = ClassId> + '_ {
        self.kept
            .iter()
            .enumerate()
            .filter(|(_, k)| **k)
            .map(|(i, _)| ClassId(i as u16))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_class_is_a_config_error_naming_it() {
        let labels: Vec<String> = COCO80.iter().map(|s| s.to_string()).collect();
        let e = ClassSet::new(&labels, &["persn".to_string()]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.to_string().contains("\"persn\""));
    }

    #[test]
    fn default_keeps_ten_classes_and_no_face() {
        let s = ClassSet::coco_default();
        assert_eq!(s.kept().count(), 10);
        assert!(s.keeps(ClassId(0)));
        assert!(s.keeps(ClassId(43))); // knife
        assert!(!s.keeps(ClassId(39))); // bottle
        assert!(COCO80.iter().all(|l| !l.contains("face")));
    }
}
