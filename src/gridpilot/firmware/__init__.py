"""Firmware images and staged roll-outs to devices (docs/firmware.md)."""
