# After tests/clients/boto3_prelude.py.
dev.create_bucket(Bucket="ops")
dev.create_bucket(Bucket="ops-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
out["location"] = [dev.get_bucket_location(Bucket="ops")["LocationConstraint"],
                   dev.get_bucket_location(Bucket="ops-eu")["LocationConstraint"]]
for k in ["a/1", "a/2", "b/1", "c", "d e", "plus+key"]:
    dev.put_object(Bucket="ops", Key=k, Body=k.encode(), ContentType="text/x-" + k[0])

# ListObjects v1 with a delimiter, page by page through NextMarker.
pages, marker = [], ""
while len(pages) < 10:
    r = dev.list_objects(Bucket="ops", Delimiter="/", MaxKeys=2, Marker=marker)
    pages.append([[o["Key"] for o in r.get("Contents", [])],
                  [p["Prefix"] for p in r.get("CommonPrefixes", [])], r.get("NextMarker")])
    if not r["IsTruncated"]:
        break
    marker = r["NextMarker"]
out["v1"] = pages

# ListObjectVersions: every object once, version "null", latest.
r = dev.list_object_versions(Bucket="ops", MaxKeys=4)
out["versions"] = [[v["Key"], v["VersionId"], v["IsLatest"]] for v in r["Versions"]]
out["versions_next"] = [r["IsTruncated"], r.get("NextKeyMarker"), r.get("NextVersionIdMarker")]
r = dev.list_object_versions(Bucket="ops", KeyMarker=r["NextKeyMarker"], VersionIdMarker=r["NextVersionIdMarker"])
out["versions_rest"] = [v["Key"] for v in r["Versions"]]

# ListObjectsV2: start-after, max-keys 0, an empty delimiter, fetch-owner.
r = dev.list_objects_v2(Bucket="ops", StartAfter="b/1")
out["start_after"] = [o["Key"] for o in r["Contents"]]
r = dev.list_objects_v2(Bucket="ops", MaxKeys=0)
out["max0"] = [r["KeyCount"], r["IsTruncated"], len(r.get("Contents", []))]
r = dev.list_objects_v2(Bucket="ops", Delimiter="")
out["empty_delimiter"] = [len(r["Contents"]), len(r.get("CommonPrefixes", []))]
r = dev.list_objects_v2(Bucket="ops", Prefix="c", FetchOwner=True)
out["owner"] = r["Contents"][0]["Owner"]["DisplayName"]

# CopyObject: COPY keeps the content type, REPLACE sets it; onto itself
# needs REPLACE; a failed condition is 412; the copy gets its own ACL.
dev.copy_object(Bucket="ops", Key="c2", CopySource={"Bucket": "ops", "Key": "c"}, ACL="public-read")
h = dev.head_object(Bucket="ops", Key="c2")
out["copy"] = [h["ContentType"], h["ETag"], dev.get_object(Bucket="ops", Key="c2")["Body"].read().decode()]
dev.copy_object(Bucket="ops", Key="c3", CopySource="ops/c", MetadataDirective="REPLACE", ContentType="text/plain")
out["replace"] = dev.head_object(Bucket="ops", Key="c3")["ContentType"]
out["self_copy"] = err(lambda: dev.copy_object(Bucket="ops", Key="c", CopySource="ops/c"))
dev.copy_object(Bucket="ops", Key="c", CopySource="ops/c", MetadataDirective="REPLACE", ContentType="text/y")
out["self_replace"] = dev.head_object(Bucket="ops", Key="c")["ContentType"]
out["if_match"] = [err(lambda: dev.copy_object(Bucket="ops", Key="c4", CopySource="ops/c", CopySourceIfMatch='"nope"')),
                   err(lambda: dev.copy_object(Bucket="ops", Key="c4", CopySource="ops/c", CopySourceIfNoneMatch=h["ETag"]))]
out["copy_acl"] = sorted([g["Grantee"].get("URI", "user"), g["Permission"]] for g in dev.get_object_acl(Bucket="ops", Key="c2")["Grants"])
out["copy_missing"] = err(lambda: dev.copy_object(Bucket="ops", Key="x", CopySource="ops/missing"))
out["copy_denied"] = err(lambda: other.copy_object(Bucket="ops", Key="x", CopySource="ops/c"))

# Bucket ACLs with grants: another account may list once granted READ by ID.
other_id = other.list_buckets()["Owner"]["ID"]
dev_id = dev.list_buckets()["Owner"]["ID"]
out["other_list_before"] = err(lambda: other.list_objects_v2(Bucket="ops"))
dev.put_bucket_acl(Bucket="ops", AccessControlPolicy={
    "Owner": {"ID": dev_id},
    "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": dev_id}, "Permission": "FULL_CONTROL"},
               {"Grantee": {"Type": "CanonicalUser", "ID": other_id}, "Permission": "READ"}]})
acl = dev.get_bucket_acl(Bucket="ops")
out["bucket_acl"] = sorted([g["Grantee"]["ID"] == other_id, g["Grantee"].get("DisplayName"), g["Permission"]] for g in acl["Grants"])
out["other_list_after"] = len(other.list_objects_v2(Bucket="ops")["Contents"])
out["other_put"] = err(lambda: other.put_object(Bucket="ops", Key="o", Body=b"x"))
dev.put_bucket_acl(Bucket="ops", GrantWrite="id=" + other_id, GrantFullControl='id="' + dev_id + '"')
other.put_object(Bucket="ops", Key="o", Body=b"x")
out["other_list_revoked"] = err(lambda: other.list_objects_v2(Bucket="ops"))
out["bad_grantee"] = [err(lambda: dev.put_bucket_acl(Bucket="ops", GrantRead="id=nobody")),
                      err(lambda: dev.put_bucket_acl(Bucket="ops", GrantRead='emailAddress="a@b.c"'))]
dev.put_object_acl(Bucket="ops", Key="c", GrantRead="uri=http://acs.amazonaws.com/groups/global/AllUsers")
out["object_acl"] = sorted([g["Grantee"].get("URI", ""), g["Permission"]] for g in dev.get_object_acl(Bucket="ops", Key="c")["Grants"])

# ListBuckets pages.
for b in ["ops-b1", "ops-b2", "ops-b3"]:
    dev.create_bucket(Bucket=b)
names, token = [], None
while len(names) < 20:
    r = dev.list_buckets(MaxBuckets=2, **({"ContinuationToken": token} if token else {}))
    names.append([b["Name"] for b in r["Buckets"]])
    token = r.get("ContinuationToken")
    if not token:
        break
out["bucket_pages"] = names

# DeleteObjects: quiet and not, a missing key counts as deleted.
r = dev.delete_objects(Bucket="ops", Delete={"Objects": [{"Key": "a/1"}, {"Key": "missing"}]})
out["deleted"] = sorted(d["Key"] for d in r["Deleted"])
r = dev.delete_objects(Bucket="ops", Delete={"Objects": [{"Key": "a/2"}, {"Key": "b/1"}], "Quiet": True})
out["quiet"] = [len(r.get("Deleted", [])), len(r.get("Errors", []))]
dev.put_bucket_acl(Bucket="ops", ACL="private")
r = other.delete_objects(Bucket="ops", Delete={"Objects": [{"Key": "c"}]})
out["foreign"] = [[e["Key"], e["Code"]] for e in r.get("Errors", [])]
out["not_empty"] = err(lambda: dev.delete_bucket(Bucket="ops"))
out["names"] = err(lambda: dev.create_bucket(Bucket="a.-b")), err(lambda: dev.create_bucket(Bucket="a-.b"))

# The cleanup of Ceph's s3-tests (nuke_bucket): every version by
# ListObjectVersions pages, DeleteObjects with their VersionIds, DeleteBucket.
for b in [b["Name"] for b in dev.list_buckets()["Buckets"]]:
    token = {}
    for _ in range(50):
        r = dev.list_object_versions(Bucket=b, MaxKeys=2, **token)
        objects = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in r.get("Versions", [])]
        if objects:
            dev.delete_objects(Bucket=b, Delete={"Objects": objects, "Quiet": True})
        if not r["IsTruncated"]:
            break
        token = {"KeyMarker": r["NextKeyMarker"], "VersionIdMarker": r["NextVersionIdMarker"]}
    dev.delete_bucket(Bucket=b)
out["nuked"] = [b["Name"] for b in dev.list_buckets()["Buckets"]]
print(json.dumps(out))
