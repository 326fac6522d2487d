# A scenario's steps: runs after tests/clients/boto3_prelude.py (tests/s3_access.rs, run).
def tags(b, k, c=dev, **kw):
    return [[t["Key"], t["Value"]] for t in c.get_object_tagging(Bucket=b, Key=k, **kw)["TagSet"]]
def count(b, k, c=dev):
    head = c.head_object(Bucket=b, Key=k)["ResponseMetadata"]["HTTPHeaders"]
    get = c.get_object(Bucket=b, Key=k)["ResponseMetadata"]["HTTPHeaders"]
    return [head.get("x-amz-tagging-count"), get.get("x-amz-tagging-count")]
def tagset(pairs):
    return {"TagSet": [{"Key": k, "Value": v} for k, v in pairs]}
dev.create_bucket(Bucket="tags")

# x-amz-tagging on PutObject, read back by key, counted on HEAD and GET.
dev.put_object(Bucket="tags", Key="k", Body=b"x", Tagging="foo=bar&bar&with%20space=a+b")
out["header"] = tags("tags", "k")
out["count"] = count("tags", "k")
out["bad_header"] = err(lambda: dev.put_object(Bucket="tags", Key="h", Body=b"x", Tagging="a=1&a=2"))

put = lambda ts: err(lambda: dev.put_object_tagging(Bucket="tags", Key="k", Tagging=tagset(ts)))
out["limits"] = [
    put([(f"k{i}", "v") for i in range(10)]),
    put([(f"k{i}", "v") for i in range(11)]),
    put([("k" * 129, "v")]),
    put([("k", "v" * 257)]),
    put([("a", "1"), ("a", "2")]),
    put([(f"k{i}", "v" * 300) for i in range(1000)]),
    put([("k" * 128, "v" * 256)]),
    put([("\u00e9" * 128, "\u00e9" * 256)]),
]
out["after_limits"] = [[len(k), len(v), k[0]] for k, v in tags("tags", "k")]
r = dev.delete_object_tagging(Bucket="tags", Key="k")
out["deleted"] = [r["ResponseMetadata"]["HTTPStatusCode"], tags("tags", "k"), count("tags", "k")]
dev.put_object_tagging(Bucket="tags", Key="k", Tagging=tagset([("a", "1")]))
out["versions"] = [tags("tags", "k", VersionId="null"),
                   err(lambda: tags("tags", "k", VersionId="3HL4kqtJlcpXroDTDmJ"))]

# Multipart uploads and copies.
u = dev.create_multipart_upload(Bucket="tags", Key="mp", Tagging="a=1&b=2")["UploadId"]
e = dev.upload_part(Bucket="tags", Key="mp", UploadId=u, PartNumber=1, Body=b"part")["ETag"]
dev.complete_multipart_upload(Bucket="tags", Key="mp", UploadId=u,
                              MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
out["multipart"] = tags("tags", "mp")
dev.copy_object(Bucket="tags", Key="c1", CopySource="tags/mp")
dev.copy_object(Bucket="tags", Key="c2", CopySource="tags/mp", TaggingDirective="REPLACE", Tagging="z=9")
dev.copy_object(Bucket="tags", Key="c3", CopySource="tags/mp", TaggingDirective="REPLACE")
out["copies"] = [tags("tags", "c1"), tags("tags", "c2"), tags("tags", "c3")]

# Another account reads a public object but not its tags, until a policy
# grants s3:GetObjectTagging.
dev.put_object_acl(Bucket="tags", Key="mp", ACL="public-read")
out["other"] = [err(lambda: other.get_object_tagging(Bucket="tags", Key="mp")),
                count("tags", "mp", other)]
dev.put_bucket_policy(Bucket="tags", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "222233334444"}, "Action": "s3:GetObjectTagging",
     "Resource": "arn:aws:s3:::tags/*"}]}))
out["other_granted"] = [tags("tags", "mp", other), count("tags", "mp", other),
                        err(lambda: other.put_object_tagging(Bucket="tags", Key="mp", Tagging=tagset([("x", "y")])))]
out["missing"] = [err(lambda: dev.get_object_tagging(Bucket="tags", Key="nope")),
                  err(lambda: anon.get_object_tagging(Bucket="tags", Key="nope"))]

# Bucket tags: 50 at most, NoSuchTagSet without.
bput = lambda n: err(lambda: dev.put_bucket_tagging(Bucket="tags", Tagging=tagset([(f"t{i}", str(i)) for i in range(n)])))
out["bucket_none"] = err(lambda: dev.get_bucket_tagging(Bucket="tags"))
out["bucket_limits"] = [bput(51), bput(50)]
out["bucket_tags"] = [len(dev.get_bucket_tagging(Bucket="tags")["TagSet"]),
                      dev.get_bucket_tagging(Bucket="tags")["TagSet"][:2]]
out["bucket_other"] = err(lambda: other.get_bucket_tagging(Bucket="tags"))
r = dev.delete_bucket_tagging(Bucket="tags")
out["bucket_deleted"] = [r["ResponseMetadata"]["HTTPStatusCode"],
                         err(lambda: dev.get_bucket_tagging(Bucket="tags"))]
