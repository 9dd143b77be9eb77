"""Custom actions for the bizbot assistant (run by rasa-sdk's action server)."""
