# A scenario's steps: runs after tests/clients/boto3_checksums_prelude.py (tests/s3_checksums.rs).
s3.create_bucket(Bucket="sums")
data = random_bytes(70000, 7)
out["ref"] = {alg: REF[alg](data) for alg in REF}
# boto3's default: it computes CRC32 and sends it in a header.
r = s3.put_object(Bucket="sums", Key="default", Body=data)
out["default"] = [r.get("ChecksumCRC32"), r.get("ChecksumType")]
out["head_plain"] = sorted(k for k in s3.head_object(Bucket="sums", Key="default") if k.startswith("Checksum"))
h = s3.head_object(Bucket="sums", Key="default", ChecksumMode="ENABLED")
out["head_enabled"] = [h.get("ChecksumCRC32"), h.get("ChecksumType")]
# boto3 asks for checksums on GET and validates the body against them.
g = s3.get_object(Bucket="sums", Key="default")
out["get"] = [g.get("ChecksumCRC32"), g["Body"].read() == data]
out["ranged"] = sorted(k for k in s3.get_object(Bucket="sums", Key="default", Range="bytes=0-9") if k.startswith("Checksum"))
# Algorithms boto3 computes itself.
out["computed"] = {}
for alg in ["CRC32", "SHA1", "SHA256"]:
    r = s3.put_object(Bucket="sums", Key="c-" + alg, Body=data, ChecksumAlgorithm=alg)
    h = s3.head_object(Bucket="sums", Key="c-" + alg, ChecksumMode="ENABLED")
    out["computed"][alg] = [r.get("Checksum" + alg), h.get("Checksum" + alg)]
# Values given by the client (boto3 needs awscrt to compute these two).
out["given"] = {}
for alg in ["CRC32C", "CRC64NVME"]:
    r = s3.put_object(Bucket="sums", Key="g-" + alg, Body=data, **{"Checksum" + alg: REF[alg](data)})
    h = s3.head_object(Bucket="sums", Key="g-" + alg, ChecksumMode="ENABLED")
    out["given"][alg] = [r.get("Checksum" + alg), h.get("Checksum" + alg)]
# s3-tests: 1024 'A's.
r = s3.put_object(Bucket="sums", Key="s3tests", Body=b"A" * 1024, ChecksumSHA256="arcu6553sHVAiX4MjW0j7I7vD4w6R+Gz9Ok0Q9lTa+0=")
out["s3tests"] = r.get("ChecksumSHA256")
# No checksum at all: S3 gives the object a CRC64NVME.
plain = client(*DEV, request_checksum_calculation="when_required")
r = plain.put_object(Bucket="sums", Key="none", Body=b"A" * 1024)
out["none"] = [r.get("ChecksumCRC64NVME"), r.get("ChecksumType")]
# In an aws-chunked body's trailer (what boto3 does over HTTPS).
def trailer(params, **kw):
    alg = params.get("context", {}).get("checksum", {}).get("request_algorithm")
    if alg:
        alg["in"] = "trailer"
sent = []
def headers(request, **kw):
    sent.append([request.headers.get(h) and (request.headers.get(h).decode() if isinstance(request.headers.get(h), bytes) else request.headers.get(h))
                 for h in ("Content-Encoding", "X-Amz-Trailer", "X-Amz-Content-SHA256")])
chunked = client(*DEV)
chunked.meta.events.register("before-call.s3.PutObject", trailer)
chunked.meta.events.register("before-send.s3.PutObject", headers)
r = chunked.put_object(Bucket="sums", Key="trailer", Body=data, ChecksumAlgorithm="SHA256")
out["trailer"] = r.get("ChecksumSHA256")
out["trailer_sent"] = sent
h = s3.head_object(Bucket="sums", Key="trailer", ChecksumMode="ENABLED")
out["trailer_head"] = [h.get("ChecksumSHA256"), h.get("ContentEncoding"), h["ContentLength"]]
r = chunked.put_object(Bucket="sums", Key="gzip", Body=data, ChecksumAlgorithm="SHA256", ContentEncoding="gzip")
out["gzip"] = s3.head_object(Bucket="sums", Key="gzip").get("ContentEncoding")
# Refused: a value of other bytes (BadDigest, nothing stored), a value
# that is no digest, two algorithms at once, a trailer that lies.
out["bad_digest"] = err(lambda: s3.put_object(Bucket="sums", Key="bad", Body=data, ChecksumSHA256=REF["SHA256"](b"other")))
out["bad_crc64"] = err(lambda: s3.put_object(Bucket="sums", Key="bad", Body=data, ChecksumCRC64NVME=REF["CRC64NVME"](b"other")))
out["bad_value"] = err(lambda: s3.put_object(Bucket="sums", Key="bad", Body=data, ChecksumSHA256="bad"))
out["two"] = err(lambda: s3.put_object(Bucket="sums", Key="bad", Body=data, ChecksumCRC32=REF["CRC32"](data), ChecksumSHA1=REF["SHA1"](data)))
honest = botocore.httpchecksum.Sha256Checksum.digest
botocore.httpchecksum.Sha256Checksum.digest = lambda self: hashlib.sha256(b"other").digest()
out["bad_trailer"] = err(lambda: chunked.put_object(Bucket="sums", Key="bad", Body=data, ChecksumAlgorithm="SHA256"))
botocore.httpchecksum.Sha256Checksum.digest = honest
# Algorithms serve does not compute (S3's SHA512, MD5, XXHASH*), in the
# signed headers: refused by name on PutObject and UploadPart, nothing kept.
def sending(headers):
    c = client(*DEV, request_checksum_calculation="when_required")
    def add(request, **kw):
        for k, v in headers.items():
            request.headers[k] = v
    c.meta.events.register("before-sign.s3", add)
    return c
out["unsupported"] = [err(lambda: sending(h).put_object(Bucket="sums", Key="bad", Body=data)) for h in [
    {"x-amz-checksum-sha512": b64(hashlib.sha512(data).digest())},
    {"x-amz-checksum-md5": b64(hashlib.md5(data).digest())},
    {"x-amz-checksum-crc32": REF["CRC32"](data), "x-amz-sdk-checksum-algorithm": "XXHASH64"},
]]
u = s3.create_multipart_upload(Bucket="sums", Key="bad")["UploadId"]
out["unsupported_part"] = err(lambda: sending({"x-amz-checksum-xxhash3": "AAAAAAAAAAA="}).upload_part(
    Bucket="sums", Key="bad", UploadId=u, PartNumber=1, Body=data))
out["unsupported_parts_kept"] = len(s3.list_parts(Bucket="sums", Key="bad", UploadId=u).get("Parts", []))
s3.abort_multipart_upload(Bucket="sums", Key="bad", UploadId=u)
out["bad_stored"] = err(lambda: s3.head_object(Bucket="sums", Key="bad"))
# An overwrite with a bad checksum leaves the old object.
out["keep_old"] = err(lambda: s3.put_object(Bucket="sums", Key="default", Body=b"new", ChecksumSHA256=REF["SHA256"](b"old")))
out["still_old"] = s3.get_object(Bucket="sums", Key="default")["Body"].read() == data
a = s3.get_object_attributes(Bucket="sums", Key="c-SHA256", ObjectAttributes=["Checksum"])
out["attrs"] = a.get("Checksum")
# A copy gets the source's algorithm, over its own bytes.
r = s3.copy_object(Bucket="sums", Key="copy", CopySource="sums/c-SHA256")
out["copy"] = [r["CopyObjectResult"].get("ChecksumSHA256"), r["CopyObjectResult"].get("ChecksumType")]
# A copy naming an algorithm serve does not compute (in the signed
# x-amz-checksum-algorithm header): refused by name, nothing copied.
def refused(r):
    return r if isinstance(r, list) else "copied"
out["unsupported_copy"] = [refused(err(lambda: sending({"x-amz-checksum-algorithm": alg}).copy_object(
    Bucket="sums", Key="copy-bad", CopySource="sums/c-SHA256"))) for alg in ["SHA512", "xxhash3", "MD5", "garbage"]]
out["unsupported_copy_kept"] = err(lambda: s3.head_object(Bucket="sums", Key="copy-bad"))
print(json.dumps(out))
