//! Camera ingest: RTSP cameras and files played as cameras, delivered as [`vigie_core::EncodedFrame`]s.
