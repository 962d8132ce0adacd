"""OpenADR 2.0b with openleadr: gridpilot as a VEN of utilities' VTNs, and as a VTN of its own
fleet's VENs (docs/openadr.md)."""
