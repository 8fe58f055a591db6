//! The live service behind `vigie serve`.
