"""The portal's own on-premise liveness engine (dlib + optional MiniFASNet ONNX), CPU only."""
