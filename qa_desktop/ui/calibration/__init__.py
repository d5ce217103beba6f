"""Calibration sessions on screen: the laptop's controls, the room's presenter."""
