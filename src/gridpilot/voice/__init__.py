"""Voice queries: the OVOS contract, an utterance parser over ``.intent`` files, spoken answers
(docs/voice.md)."""
