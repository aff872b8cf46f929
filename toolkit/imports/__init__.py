"""`toolkit import`: bring writing that already lives on a service into `posts/`.

Each source (`lesswrong`: any ForumMagnum forum in the target registry; `substack`: an
export archive) yields `Item`s; `files.write_items` turns them into Markdown files and
records each one in published.yaml as if `publish` had pushed it, so a later `publish`
updates the remote item instead of making a second one.
"""
