//! Vigie vision: ONNX Runtime sessions, letterbox, detector decoders (NanoDet, YOLOX, YOLOv8), class-wise NMS.
