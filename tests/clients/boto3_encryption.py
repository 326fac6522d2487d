# Server-side encryption through unmodified boto3: SSE-S3, SSE-KMS (key
# `k1` of serve's key ring) and SSE-C on PUT, GET, HEAD, ranges, copies
# and multipart uploads, bucket default encryption, and S3's refusals.
# argv: endpoint. Prints one JSON object; the Rust test checks it.
# After tests/clients/boto3_prelude.py; `err` answers "ok" for success.
import base64, hashlib

s3 = dev
b64 = lambda b: base64.b64encode(b).decode()

def err(f):
    try:
        f()
        return "ok"
    except ClientError as e:
        return [e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]]

def ssec(key):
    return dict(SSECustomerAlgorithm="AES256", SSECustomerKey=b64(key),
                SSECustomerKeyMD5=b64(hashlib.md5(key).digest()))

def copy_ssec(key):
    return {"CopySource" + k: v for k, v in ssec(key).items()}

MARK = b"s3torrent-plaintext-marker."
data = (MARK * 40000)[:1000003]
md5 = hashlib.md5(data).hexdigest()
key_a, key_b = bytes(range(32)), bytes(range(32, 64))
A, B = ssec(key_a), ssec(key_b)
# The round trips.
s3.create_bucket(Bucket="enc")
# A plain object: the on-disk check's control.
s3.put_object(Bucket="enc", Key="plain", Body=data)

# SSE-S3: the ETag is the plaintext's MD5, as in S3.
r = s3.put_object(Bucket="enc", Key="s3", Body=data, ServerSideEncryption="AES256")
out["s3_put"] = [r.get("ServerSideEncryption"), r["ETag"].strip('"') == md5]
g = s3.get_object(Bucket="enc", Key="s3")
out["s3_get"] = [g.get("ServerSideEncryption"), g["Body"].read() == data]
out["s3_head"] = s3.head_object(Bucket="enc", Key="s3").get("ServerSideEncryption")
ranges = [(0, 0), (5, 40), (15, 16), (16, 31), (1000, 70000), (len(data) - 17, len(data) - 1)]
out["s3_ranges"] = all(
    s3.get_object(Bucket="enc", Key="s3", Range=f"bytes={a}-{b}")["Body"].read() == data[a:b + 1]
    for a, b in ranges)

# SSE-KMS with the ring's key k1; an unknown key is refused.
r = s3.put_object(Bucket="enc", Key="kms", Body=data, ServerSideEncryption="aws:kms",
                  SSEKMSKeyId="k1")
out["kms_put"] = [r.get("ServerSideEncryption"), r.get("SSEKMSKeyId"),
                  r["ETag"].strip('"') != md5]
g = s3.get_object(Bucket="enc", Key="kms")
out["kms_get"] = [g.get("ServerSideEncryption"), g.get("SSEKMSKeyId"), g["Body"].read() == data]
out["kms_unknown"] = err(lambda: s3.put_object(Bucket="enc", Key="x", Body=b"x",
                                               ServerSideEncryption="aws:kms", SSEKMSKeyId="nope"))
out["kms_no_id"] = err(lambda: s3.put_object(Bucket="enc", Key="x", Body=b"x",
                                             ServerSideEncryption="aws:kms"))
out["bad_algorithm"] = err(lambda: s3.put_object(Bucket="enc", Key="x", Body=b"x",
                                                 ServerSideEncryption="AES512"))
out["both"] = err(lambda: s3.put_object(Bucket="enc", Key="x", Body=b"x",
                                        ServerSideEncryption="AES256", **A))

# SSE-C: the key goes with every read; another key, none, or a bad MD5 is refused.
r = s3.put_object(Bucket="enc", Key="c", Body=data, **A)
out["c_put"] = [r.get("SSECustomerAlgorithm"), r.get("SSECustomerKeyMD5") == A["SSECustomerKeyMD5"],
                r["ETag"].strip('"') != md5]
out["c_get_none"] = err(lambda: s3.get_object(Bucket="enc", Key="c"))
out["c_head_none"] = err(lambda: s3.head_object(Bucket="enc", Key="c"))
out["c_get_other"] = err(lambda: s3.get_object(Bucket="enc", Key="c", **B))
g = s3.get_object(Bucket="enc", Key="c", **A)
out["c_get"] = [g.get("SSECustomerAlgorithm"), g["Body"].read() == data]
out["c_head"] = s3.head_object(Bucket="enc", Key="c", **A).get("SSECustomerKeyMD5") == A["SSECustomerKeyMD5"]
out["c_ranges"] = all(
    s3.get_object(Bucket="enc", Key="c", Range=f"bytes={a}-{b}", **A)["Body"].read() == data[a:b + 1]
    for a, b in ranges)
bad = dict(A, SSECustomerKeyMD5=b64(b"\0" * 16))
out["c_bad_md5"] = err(lambda: s3.put_object(Bucket="enc", Key="x", Body=b"x", **bad))
out["c_key_on_plain"] = err(lambda: s3.get_object(Bucket="enc", Key="plain", **A))

def with_header(name, value, call):
    def add(params, **_):
        params["headers"][name] = value
    s3.meta.events.register("before-call.s3.*", add)
    try:
        return err(call)
    finally:
        s3.meta.events.unregister("before-call.s3.*", add)

out["get_with_sse_header"] = with_header("x-amz-server-side-encryption", "AES256",
                                         lambda: s3.get_object(Bucket="enc", Key="s3"))

# Copies: SSE-C to SSE-S3 (the source's key as copy-source headers), and
# SSE-KMS to SSE-C.
out["copy_no_source_key"] = err(lambda: s3.copy_object(
    Bucket="enc", Key="c2s3", CopySource={"Bucket": "enc", "Key": "c"}))
r = s3.copy_object(Bucket="enc", Key="c2s3", CopySource={"Bucket": "enc", "Key": "c"},
                   ServerSideEncryption="AES256", **copy_ssec(key_a))
g = s3.get_object(Bucket="enc", Key="c2s3")
out["copy_c_to_s3"] = [r.get("ServerSideEncryption"), g.get("ServerSideEncryption"),
                       g["Body"].read() == data]
s3.copy_object(Bucket="enc", Key="kms2c", CopySource={"Bucket": "enc", "Key": "kms"}, **B)
out["copy_kms_to_c"] = [err(lambda: s3.get_object(Bucket="enc", Key="kms2c")),
                        s3.get_object(Bucket="enc", Key="kms2c", **B)["Body"].read() == data]

# Multipart SSE-C: every part and the completion bring the key; a part
# copied from an SSE-S3 object.
big = bytes((i * 7 + i // 5000) % 251 for i in range(5 * 1024 * 1024 + 4321))
u = s3.create_multipart_upload(Bucket="enc", Key="mp", **A)
out["mp_create"] = u.get("SSECustomerKeyMD5") == A["SSECustomerKeyMD5"]
uid = u["UploadId"]
out["mp_part_no_key"] = err(lambda: s3.upload_part(Bucket="enc", Key="mp", UploadId=uid,
                                                   PartNumber=1, Body=big))
out["mp_part_other_key"] = err(lambda: s3.upload_part(Bucket="enc", Key="mp", UploadId=uid,
                                                      PartNumber=1, Body=big, **B))
p1 = s3.upload_part(Bucket="enc", Key="mp", UploadId=uid, PartNumber=1, Body=big, **A)
out["mp_part_etag_opaque"] = p1["ETag"].strip('"') != hashlib.md5(big).hexdigest()
p2 = s3.upload_part_copy(Bucket="enc", Key="mp", UploadId=uid, PartNumber=2,
                         CopySource={"Bucket": "enc", "Key": "s3"}, **A)
parts = {"Parts": [{"PartNumber": 1, "ETag": p1["ETag"]},
                   {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]}]}
out["mp_complete_no_key"] = err(lambda: s3.complete_multipart_upload(
    Bucket="enc", Key="mp", UploadId=uid, MultipartUpload=parts))
s3.complete_multipart_upload(Bucket="enc", Key="mp", UploadId=uid, MultipartUpload=parts, **A)
whole = big + data
edge = len(big)
out["mp_get"] = [s3.get_object(Bucket="enc", Key="mp", **A)["Body"].read() == whole,
                 s3.get_object(Bucket="enc", Key="mp", Range=f"bytes={edge - 10}-{edge + 10}",
                               **A)["Body"].read() == whole[edge - 10:edge + 11],
                 err(lambda: s3.get_object(Bucket="enc", Key="mp"))]

# Bucket default encryption.
s3.create_bucket(Bucket="dflt")
out["default_none"] = err(lambda: s3.get_bucket_encryption(Bucket="dflt"))
s3.put_bucket_encryption(Bucket="dflt", ServerSideEncryptionConfiguration={"Rules": [
    {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "k1"}}]})
rule = s3.get_bucket_encryption(Bucket="dflt")["ServerSideEncryptionConfiguration"]["Rules"][0]
out["default_rule"] = rule["ApplyServerSideEncryptionByDefault"]
r = s3.put_object(Bucket="dflt", Key="d", Body=data)
out["default_put"] = [r.get("ServerSideEncryption"), r.get("SSEKMSKeyId")]
s3.delete_bucket_encryption(Bucket="dflt")
out["default_deleted"] = err(lambda: s3.get_bucket_encryption(Bucket="dflt"))
out["default_after"] = s3.put_object(Bucket="dflt", Key="e", Body=b"e").get("ServerSideEncryption")

print(json.dumps(out))
