"""The guide pack format, checked by one set of rules that build, verify and install all call.

- `names`: what an id, a language code, a version, an image name or a topic may be;
- `layout`: which paths a pack holds (pack.toml, guides/<id>/<lang>.md, images/<name>);
- `problems`: how the checks report, all at once, naming the file and the key;
- `info`: pack.toml (the manifest repeats it); `page`: one guide page's front matter;
- `contents`: a whole pack's pack.toml, pages and images, and how they agree;
- `manifest`: the signed list of files; `write` and `read`: the archive itself;
- `build`: a source folder checked, then signed into a pack.
"""
