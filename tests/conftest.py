"""Shared test configuration."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Exported ONNX graphs (core.segment.onnx_backend) go to a folder of this test session,
# never to the user's ~/.cache; shared by all tests of the session, like a real cache.
if "PELVITRACK_CACHE" not in os.environ:
    import tempfile

    os.environ["PELVITRACK_CACHE"] = tempfile.mkdtemp(prefix="pelvitrack-test-cache-")
