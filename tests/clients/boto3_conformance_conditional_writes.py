# A scenario's steps: runs after tests/clients/boto3_conformance_prelude.py (tests/s3_conformance.rs, run).
import datetime
dev.create_bucket(Bucket="cond")
etag = dev.put_object(Bucket="cond", Key="k", Body=b"one")["ETag"]
out["none_match_same"] = err(lambda: dev.put_object(Bucket="cond", Key="k", Body=b"x", IfNoneMatch=etag))
out["none_match_other"] = err(lambda: dev.put_object(Bucket="cond", Key="k", Body=b"two", IfNoneMatch='"0123"'))
etag = dev.head_object(Bucket="cond", Key="k")["ETag"]
def complete(**kw):
    u = dev.create_multipart_upload(Bucket="cond", Key="k")["UploadId"]
    p = dev.upload_part(Bucket="cond", Key="k", UploadId=u, PartNumber=1, Body=b"abc")
    return err(lambda: dev.complete_multipart_upload(Bucket="cond", Key="k", UploadId=u,
        MultipartUpload={"Parts": [{"ETag": p["ETag"], "PartNumber": 1}]}, **kw))
out["complete_none_match_any"] = complete(IfNoneMatch="*")
out["complete_none_match_same"] = complete(IfNoneMatch=etag)
out["complete_match_other"] = complete(IfMatch='"0123"')
head = dev.head_object(Bucket="cond", Key="k")
etag, size, mtime = head["ETag"], head["ContentLength"], head["LastModified"]
old = datetime.datetime(2015, 1, 1)
out["delete_refused"] = [
    err(lambda: dev.delete_object(Bucket="cond", Key="k", IfMatch='"0123"')),
    err(lambda: dev.delete_object(Bucket="cond", Key="k", IfMatchSize=size + 1)),
    err(lambda: dev.delete_object(Bucket="cond", Key="k", IfMatchLastModifiedTime=old)),
]
out["still_there"] = dev.get_object(Bucket="cond", Key="k")["Body"].read().decode()
out["delete_matching"] = err(lambda: dev.delete_object(Bucket="cond", Key="k", IfMatch=etag,
    IfMatchSize=size, IfMatchLastModifiedTime=mtime))
out["gone"] = err(lambda: dev.head_object(Bucket="cond", Key="k"))
out["delete_missing"] = err(lambda: dev.delete_object(Bucket="cond", Key="k", IfMatch='"0123"'))

dev.put_object(Bucket="cond", Key="m", Body=b"many")
head = dev.head_object(Bucket="cond", Key="m")
r = dev.delete_objects(Bucket="cond", Delete={"Objects": [
    {"Key": "m", "ETag": '"0123"'}, {"Key": "m", "Size": 1}]})
out["batch_refused"] = sorted(e["Code"] for e in r.get("Errors", []))
r = dev.delete_objects(Bucket="cond", Delete={"Objects": [
    {"Key": "m", "ETag": head["ETag"], "Size": head["ContentLength"]}]})
out["batch_deleted"] = [d["Key"] for d in r.get("Deleted", [])]

dev.create_bucket(Bucket="cond-v")
dev.put_bucket_versioning(Bucket="cond-v", VersioningConfiguration={"Status": "Enabled"})
v1 = dev.put_object(Bucket="cond-v", Key="k", Body=b"v1")
dev.put_object(Bucket="cond-v", Key="k", Body=b"v2")
out["version_refused"] = err(lambda: dev.delete_object(Bucket="cond-v", Key="k",
    VersionId=v1["VersionId"], IfMatch='"0123"'))
out["version_deleted"] = err(lambda: dev.delete_object(Bucket="cond-v", Key="k",
    VersionId=v1["VersionId"], IfMatch=v1["ETag"]))
out["current_refused"] = err(lambda: dev.delete_object(Bucket="cond-v", Key="k", IfMatch=v1["ETag"]))
out["marker"] = dev.delete_object(Bucket="cond-v", Key="k", IfMatch="*").get("DeleteMarker")
out["on_marker"] = [err(lambda: dev.delete_object(Bucket="cond-v", Key="k", IfMatch='"0123"')),
                    err(lambda: dev.delete_object(Bucket="cond-v", Key="k", IfMatch="*"))]
