# After tests/clients/boto3_prelude.py; `err` answers the response too.
import base64, hashlib, zlib
import botocore.httpchecksum
s3 = dev
def err(f):
    try:
        r = f()
        r.pop("ResponseMetadata", None)
        r.pop("Body", None)
        return r
    except ClientError as e:
        return [e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"],
                e.response["Error"].get("Message")]
def reflect(x, width):
    return int(bin(x)[2:].zfill(width)[::-1], 2)
def crc(data, poly, width):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ reflect(poly, width) if c & 1 else c >> 1
        table.append(c)
    mask = (1 << width) - 1
    c = mask
    for b in data:
        c = table[(c ^ b) & 0xff] ^ (c >> 8)
    return c ^ mask
# The catalogue's check values: the references are right.
assert crc(b"123456789", 0x1EDC6F41, 32) == 0xE3069283
assert crc(b"123456789", 0xAD93D23594C93659, 64) == 0xAE8B14860A799888
b64 = lambda b: base64.b64encode(b).decode()
REF = {
    "CRC32": lambda d: b64(zlib.crc32(d).to_bytes(4, "big")),
    "CRC32C": lambda d: b64(crc(d, 0x1EDC6F41, 32).to_bytes(4, "big")),
    "CRC64NVME": lambda d: b64(crc(d, 0xAD93D23594C93659, 64).to_bytes(8, "big")),
    "SHA1": lambda d: b64(hashlib.sha1(d).digest()),
    "SHA256": lambda d: b64(hashlib.sha256(d).digest()),
}
def random_bytes(n, seed):
    out, x = bytearray(), seed
    while len(out) < n:
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        out += x.to_bytes(8, "little")
    return bytes(out[:n])
