"""The incremental build: everything a build keeps in `.toolkit/` to do less next time.

The contract. The plain path (`pipeline.run` -> `document.build` -> renderers ->
`output.stage_tree`) defines what a build produces. This package may only let a build
skip work whose inputs have not changed; it never changes what is produced. `toolkit
build --no-cache` runs the plain path with none of it, and the tests compare the two
byte for byte (tests/test_no_cache.py), after edits, renames and copies too.

What is kept, and where it is used:
- `store.Cache` (`.toolkit/cache.sqlite`): each post's result (its checked post,
  diagnostics and rendered outputs) under its path, its bytes and everything global it
  depends on, with the digests of the snippets it cites checked on every lookup; loaded
  snippets and labs/archives files by content; the digests of files known by their stat
  (`content.Inputs`); the digests of pages made from many posts; tree records. Used by
  `pipeline.run` and `build`.
- `store.ObjectStore` (`.toolkit/objects/`): each rendered page once, under its sha256.
  `store.stash` moves a renderer's page there (renderers do no I/O themselves).
- `trees` (`.toolkit/trees/`): the output trees swapped out, staged in next time.
- `memo`: the last build's fingerprint and report (a build with nothing to do writes
  nothing), the project-wide checks with the span of clock they hold for, and the index
  of archives.yaml.

Whatever is read back is checked: a row whose checksum fails, of a type not asked for, or
naming anything but the toolkit's own data is a miss; a missing object restarts the build
(`trees.CacheMiss`); a damaged database is replaced. A miss costs time, never correctness.
"""
