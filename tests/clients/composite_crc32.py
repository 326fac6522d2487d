import base64, sys, zlib
data = open(sys.argv[1], "rb").read()
sums, at = b"", 0
for size in map(int, sys.argv[2:]):
    sums += zlib.crc32(data[at:at + size]).to_bytes(4, "big")
    at += size
assert at == len(data)
print(base64.b64encode(zlib.crc32(sums).to_bytes(4, "big")).decode() + "-" + str(len(sys.argv) - 2))
