# After tests/clients/boto3_prelude.py.
import hashlib
s3 = dev
s3.create_bucket(Bucket="chunked")
s3.put_bucket_acl(Bucket="chunked", ACL="public-read-write")
seen = []
def chunked(request, **kwargs):
    request.headers.add_header("Transfer-Encoding", "chunked")
def text(v):
    return v.decode() if isinstance(v, bytes) else v
def sent(request, **kwargs):
    seen.append([text(request.headers.get("Content-Length")), text(request.headers.get("Transfer-Encoding"))])
for op in ("PutObject", "UploadPart"):
    s3.meta.events.register_first("before-sign.s3." + op, chunked)
    s3.meta.events.register("before-send.s3." + op, sent)
r = s3.put_object(Bucket="chunked", Key="foo", Body="bar")
out["put"] = [r["ResponseMetadata"]["HTTPStatusCode"], r["ETag"]]
out["foo"] = s3.get_object(Bucket="chunked", Key="foo")["Body"].read().decode()
u = s3.create_multipart_upload(Bucket="chunked", Key="mp")["UploadId"]
bodies = [b"a" * (5 * 1024 * 1024), b"tail"]
listed = []
for n, body in enumerate(bodies, 1):
    r = s3.upload_part(Bucket="chunked", Key="mp", UploadId=u, PartNumber=n, Body=body)
    listed.append({"PartNumber": n, "ETag": r["ETag"]})
    out.setdefault("part_etags", []).append([r["ETag"], '"' + hashlib.md5(body).hexdigest() + '"'])
s3.complete_multipart_upload(Bucket="chunked", Key="mp", UploadId=u, MultipartUpload={"Parts": listed})
got = s3.get_object(Bucket="chunked", Key="mp")["Body"].read()
out["mp"] = got == b"".join(bodies)
out["sent"] = seen
print(json.dumps(out))
