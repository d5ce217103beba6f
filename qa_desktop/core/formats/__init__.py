"""The file formats, in one place: what QA Desktop reads and writes, and the rules for it.

- :mod:`.canonical`: strict JSON parsing and RFC 8785 canonical JSON.
- :mod:`.safe_paths`: the one rule for file names that come from outside.
- :mod:`.zip_safety`: the one set of archive-safety rules, with the limits as a parameter
  (:data:`~.zip_safety.BATCH_LIMITS`, :data:`~.zip_safety.BUNDLE_LIMITS`).
- :mod:`.bagit`: BagIt bags (RFC 8493): declaration, bag-info.txt, manifests.
- :mod:`.minisign`: minisign's public key and signature text formats (Ed25519).

Nothing here touches the database; callers turn each format's problem into their own
refusal (a batch's :class:`BatchError`, a bundle's reason code).
"""
