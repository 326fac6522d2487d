import hashlib, json, sys
t = open(sys.argv[1], "rb").read()
data = open(sys.argv[2], "rb").read()

def value(i):
    c = t[i:i + 1]
    if c == b"i":
        end = t.index(b"e", i)
        return int(t[i + 1:end]), end + 1
    if c in (b"l", b"d"):
        i, items = i + 1, []
        while t[i:i + 1] != b"e":
            v, i = value(i)
            items.append(v)
        return (items if c == b"l" else dict(zip(items[::2], items[1::2]))), i + 1
    colon = t.index(b":", i)
    start = colon + 1
    return t[start:start + int(t[i:colon])], start + int(t[i:colon])

assert t[:1] == b"d"
i, top, span = 1, {}, None
while t[i:i + 1] != b"e":
    k, i = value(i)
    start = i
    top[k], i = value(i)
    if k == b"info":
        span = (start, i)
assert i + 1 == len(t), "bytes after the torrent"
info = top[b"info"]
pl = info[b"piece length"]
expected = b"".join(hashlib.sha1(data[o:o + pl]).digest() for o in range(0, len(data), pl))
urls = top.get(b"url-list", [])
urls = [urls] if isinstance(urls, bytes) else urls
print(json.dumps({
    "info_hash": hashlib.sha1(t[span[0]:span[1]]).hexdigest(),
    "name": info[b"name"].decode(),
    "length": info[b"length"],
    "piece_length": pl,
    "pieces_match": info[b"pieces"] == expected,
    "url_list": [u.decode() for u in urls],
    "top_keys": sorted(k.decode() for k in top),
    "aws": [info.get(b"x-amz-bucket", b"").decode(), info.get(b"x-amz-key", b"").decode()],
}))
