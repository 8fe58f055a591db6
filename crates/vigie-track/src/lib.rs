//! Vigie tracking: a deterministic ByteTrack (Kalman filter, two-stage Hungarian association, class vote).
