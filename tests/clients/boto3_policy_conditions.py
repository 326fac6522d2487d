# After tests/clients/boto3_prelude.py.
# Bucket-policy conditions about the object and the request, as boto3 sends
# them; DeleteObjects of many keys; SigV2 bucket requests.
POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "222233334444"}, "Action": "s3:GetObject",
     "Resource": "arn:aws:s3:::conds/*",
     "Condition": {"StringEquals": {"s3:ExistingObjectTag/security": "public"}}},
    {"Effect": "Allow", "Principal": {"AWS": "222233334444"}, "Action": "s3:PutObject",
     "Resource": "arn:aws:s3:::conds/up/*",
     "Condition": {"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["security"]},
                   "Null": {"s3:RequestObjectTagKeys": "false"}}},
    {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
     "Resource": "arn:aws:s3:::conds/*",
     "Condition": {"StringLike": {"s3:x-amz-acl": "public*"}}},
    {"Effect": "Allow", "Principal": {"AWS": "222233334444"}, "Action": "s3:DeleteObject",
     "Resource": "arn:aws:s3:::conds/mine/*"},
]}
dev.create_bucket(Bucket="conds")
for key, tags in [("publictag", "security=public"), ("privatetag", "security=private"),
                  ("untagged", "")]:
    dev.put_object(Bucket="conds", Key=key, Body=key.encode(), Tagging=tags)
dev.put_bucket_policy(Bucket="conds", Policy=json.dumps(POLICY))
out["get"] = [err(lambda: other.get_object(Bucket="conds", Key=k)) for k in
              ["publictag", "privatetag", "untagged"]]
# Retagged by the owner: the condition follows the object's tags now.
dev.put_object_tagging(Bucket="conds", Key="privatetag",
                       Tagging={"TagSet": [{"Key": "security", "Value": "public"}]})
out["get_retagged"] = err(lambda: other.get_object(Bucket="conds", Key="privatetag"))
put = lambda key, **kw: err(lambda: other.put_object(Bucket="conds", Key=key, Body=b"x", **kw))
out["put"] = [put("up/a", Tagging="security=low"), put("up/b", Tagging="team=web"),
              put("up/c"), put("up/d", Tagging="security=low", ACL="public-read"),
              put("elsewhere", Tagging="security=low")]
# The owner's own PUT: the Deny on `x-amz-acl: public*` holds for it too.
out["owner_public"] = err(lambda: dev.put_object(Bucket="conds", Key="p", Body=b"x",
                                                 ACL="public-read"))

# x-amz-copy-source: a second bucket takes copies from conds/public* only.
dev.create_bucket(Bucket="copies")
dev.put_bucket_policy(Bucket="copies", Policy=json.dumps({"Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "222233334444"}, "Action": "s3:PutObject",
     "Resource": "arn:aws:s3:::copies/*",
     "Condition": {"StringLike": {"s3:x-amz-copy-source": "conds/public*"}}}]}))
copy = lambda key: err(lambda: other.copy_object(Bucket="copies", Key="c",
                                                 CopySource={"Bucket": "conds", "Key": key}))
out["copy"] = [copy("publictag"), copy("privatetag"), copy("untagged")]

# DeleteObjects: many keys (one commit), some the requester may not delete
# (the policy grants `mine/*` only), one conditional.
keys = ["mine/%03d" % i for i in range(120)] + ["theirs/1", "theirs/2"]
for k in keys:
    dev.put_object(Bucket="conds", Key=k, Body=b"d")
r = other.delete_objects(Bucket="conds", Delete={"Objects": [{"Key": k} for k in keys]})
out["deleted"] = sorted(d["Key"] for d in r.get("Deleted", []))
out["refused"] = sorted([e["Key"], e["Code"]] for e in r.get("Errors", []))
left = dev.list_objects_v2(Bucket="conds", Prefix="mine/").get("KeyCount")
out["left"] = [left, [o["Key"] for o in dev.list_objects_v2(Bucket="conds", Prefix="theirs/")
                      .get("Contents", [])]]
etag = dev.put_object(Bucket="conds", Key="mine/cond", Body=b"c")["ETag"]
r = dev.delete_objects(Bucket="conds", Delete={"Objects": [
    {"Key": "mine/cond", "ETag": '"0123456789abcdef0123456789abcdef"'},
    {"Key": "mine/missing"}]})
out["conditional"] = [sorted([e["Key"], e["Code"]] for e in r.get("Errors", [])),
                      sorted(d["Key"] for d in r.get("Deleted", []))]
# In a versioned bucket, each key gets its delete marker.
dev.create_bucket(Bucket="vconds")
dev.put_bucket_versioning(Bucket="vconds", VersioningConfiguration={"Status": "Enabled"})
for i in range(30):
    dev.put_object(Bucket="vconds", Key="k%02d" % i, Body=b"v")
r = dev.delete_objects(Bucket="vconds",
                       Delete={"Objects": [{"Key": "k%02d" % i} for i in range(30)]})
out["markers"] = sorted({(d.get("DeleteMarker"), bool(d.get("DeleteMarkerVersionId")))
                         for d in r["Deleted"]})
v = dev.list_object_versions(Bucket="vconds")
out["versions"] = [len(v.get("Versions", [])), len(v.get("DeleteMarkers", [])),
                   dev.list_objects_v2(Bucket="vconds")["KeyCount"]]
# A conditional delete of a key that never had a version: 204, no marker.
dev.delete_object(Bucket="vconds", Key="never", IfMatch="*")
out["never"] = [m["Key"] for m in dev.list_object_versions(Bucket="vconds", Prefix="never")
                .get("DeleteMarkers", [])]

# SigV2 (botocore's "s3" signer) on requests to a bucket alone.
v2 = client(*DEV, signature_version="s3")
out["v2"] = [
    err(lambda: v2.create_bucket(Bucket="v2bucket", ACL="public-read")),
    err(lambda: v2.put_bucket_cors(Bucket="v2bucket", CORSConfiguration={"CORSRules": [
        {"AllowedMethods": ["GET"], "AllowedOrigins": ["example"]}]})),
    err(lambda: v2.put_object(Bucket="v2bucket", Key="k", Body=b"v2")),
    err(lambda: v2.list_objects(Bucket="v2bucket")),
]
wrong = client(DEV[0], "not-the-secret", signature_version="s3")
out["v2_wrong_secret"] = err(lambda: wrong.list_objects(Bucket="v2bucket"))

# A browser form whose policy condition fails: 403 AccessDenied, as S3.
import urllib3
http = urllib3.PoolManager(retries=False)
v4 = client(*DEV, signature_version="s3v4")
def form(fields):
    fields = dict(fields)
    fields["file"] = ("f.txt", b"form body")
    r = http.request("POST", f"{ep}/v2bucket", fields=fields, redirect=False)
    return [r.status, r.data.decode()]
p = v4.generate_presigned_post("v2bucket", "up/${filename}",
                               Conditions=[["starts-with", "$key", "up/"]])
fields = dict(p["fields"])
fields["key"] = "up/ok.txt"
out["form_ok"] = form(fields)[0]
fields["key"] = "elsewhere.txt"
status, body = form(fields)
out["form_failed"] = [status, "<Code>AccessDenied</Code>" in body,
                      "Invalid according to Policy" in body]
