# After tests/clients/boto3_prelude.py; `err` answers S3's message too.
import hashlib
phase = sys.argv[2]
s3 = dev
def err(f):
    try:
        f()
        return None
    except ClientError as e:
        return [e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"],
                e.response["Error"].get("Message")]
SIZES = [5 * 1024 * 1024, 5 * 1024 * 1024, 1000]
def multipart(key):
    u = s3.create_multipart_upload(Bucket="parts", Key=key)["UploadId"]
    listed = []
    for n, size in enumerate(SIZES, 1):
        r = s3.upload_part(Bucket="parts", Key=key, UploadId=u, PartNumber=n, Body=bytes([n]) * size)
        listed.append({"PartNumber": n, "ETag": r["ETag"]})
    return s3.complete_multipart_upload(Bucket="parts", Key=key, UploadId=u,
                                        MultipartUpload={"Parts": listed})["ETag"]
def part(key, n):
    h = s3.head_object(Bucket="parts", Key=key, PartNumber=n)
    g = s3.get_object(Bucket="parts", Key=key, PartNumber=n)
    body = g["Body"].read()
    return {"head": [h["ResponseMetadata"]["HTTPStatusCode"], h["ContentLength"], h.get("PartsCount"),
                     h.get("ContentRange"), h["ETag"]],
            "get": [g["ResponseMetadata"]["HTTPStatusCode"], g["ContentLength"], g.get("PartsCount"),
                    g.get("ContentRange"), g["ETag"]],
            "body": [len(body), sorted(set(body))]}
def attrs(key, **kw):
    r = s3.get_object_attributes(Bucket="parts", Key=key, **kw)
    r.pop("ResponseMetadata")
    r["LastModified"] = "present"
    return r
ALL = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]
if phase == "write":
    s3.create_bucket(Bucket="parts")
    out["etag"] = multipart("mp")
    out["kept_etag"] = multipart("kept")
    out["parts"] = [part("mp", n) for n in (1, 2, 3)]
    out["past_last"] = err(lambda: s3.get_object(Bucket="parts", Key="mp", PartNumber=4))
    out["head_past_last"] = err(lambda: s3.head_object(Bucket="parts", Key="mp", PartNumber=4))
    out["zero"] = err(lambda: s3.get_object(Bucket="parts", Key="mp", PartNumber=0))
    out["too_big"] = err(lambda: s3.get_object(Bucket="parts", Key="mp", PartNumber=10001))
    out["with_range"] = err(lambda: s3.get_object(Bucket="parts", Key="mp", PartNumber=1, Range="bytes=0-8"))
    s3.put_object(Bucket="parts", Key="simple", Body=b"test-123")
    g = s3.get_object(Bucket="parts", Key="simple", PartNumber=1)
    out["simple"] = [g["ResponseMetadata"]["HTTPStatusCode"], g.get("ContentRange"), g.get("PartsCount"),
                     g["ETag"], g["Body"].read().decode()]
    out["simple_2"] = err(lambda: s3.get_object(Bucket="parts", Key="simple", PartNumber=2))
    out["attrs"] = attrs("mp", ObjectAttributes=ALL)
    out["attrs_page"] = attrs("mp", ObjectAttributes=["ObjectParts"], MaxParts=1, PartNumberMarker=1)
    out["attrs_simple"] = attrs("simple", ObjectAttributes=ALL)
    out["attrs_some"] = attrs("simple", ObjectAttributes=["ObjectSize"])
    out["attrs_missing"] = err(lambda: s3.get_object_attributes(Bucket="parts", Key="nope", ObjectAttributes=ALL))
    out["attrs_anonymous"] = err(lambda: anon.get_object_attributes(Bucket="parts", Key="simple", ObjectAttributes=ALL))
    s3.put_object_acl(Bucket="parts", Key="simple", ACL="public-read")
    out["attrs_public"] = anon.get_object_attributes(Bucket="parts", Key="simple", ObjectAttributes=["ObjectSize"])["ObjectSize"]
    # Overwritten by a simple object: one part again.
    s3.put_object(Bucket="parts", Key="mp", Body=b"now simple")
    out["overwritten"] = err(lambda: s3.get_object(Bucket="parts", Key="mp", PartNumber=2))
    out["overwritten_attrs"] = "ObjectParts" in attrs("mp", ObjectAttributes=ALL)
else:
    out["kept"] = part("kept", 3)
    out["kept_attrs"] = attrs("kept", ObjectAttributes=["ObjectParts"], MaxParts=2)
print(json.dumps(out))
