//! Writing tiny ONNX models by hand in tests (no ONNX tooling is needed).

/// Minimal protobuf writer, enough for an ONNX `ModelProto`.
#[derive(Default)]
pub struct Pb(pub Vec<u8>);

impl Pb {
    pub fn varint(&mut self, mut v: u64) -> &mut Self {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(b);
                return self;
            }
            self.0.push(b | 0x80);
        }
    }
    pub fn int(&mut self, field: u64, v: u64) -> &mut Self {
        self.varint(field << 3).varint(v)
    }
    pub fn bytes(&mut self, field: u64, b: &[u8]) -> &mut Self {
        self.varint((field << 3) | 2).varint(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }
    pub fn msg(&mut self, field: u64, m: &Pb) -> &mut Self {
        self.bytes(field, &m.0)
    }
}

pub fn value_info(name: &str, dims: &[i64]) -> Pb {
    let mut shape = Pb::default();
    for &d in dims {
        shape.msg(1, Pb::default().int(1, d as u64));
    }
    let mut tensor = Pb::default();
    tensor.int(1, 1).msg(2, &shape); // elem_type FLOAT
    let mut ty = Pb::default();
    ty.msg(1, &tensor);
    let mut vi = Pb::default();
    vi.bytes(1, name.as_bytes()).msg(2, &ty);
    vi
}
