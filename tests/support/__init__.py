"""Helpers for tests and benchmarks that start real peers (Orthanc) on 127.0.0.1."""
