# A scenario's steps: runs after tests/clients/boto3_gateway_prelude.py (tests/support/ceph.rs, scenario).
alice.create_bucket(Bucket="pass-b")
alice.put_bucket_versioning(Bucket="pass-b", VersioningConfiguration={"Status": "Enabled"})
for i in range(3):
    alice.put_object(Bucket="pass-b", Key="k%d" % i, Body=b"v1-%d" % i)
alice.put_object(Bucket="pass-b", Key="k0", Body=b"v2")
alice.delete_object(Bucket="pass-b", Key="k1")
mp = alice.create_multipart_upload(Bucket="pass-b", Key="pending")
alice.upload_part(Bucket="pass-b", Key="pending", UploadId=mp["UploadId"], PartNumber=1, Body=b"p" * 1000)
def strip(r):
    r.pop("ResponseMetadata", None)
    return json.loads(json.dumps(r, default=str))
out = {}
for name, via_gw, direct in [
    ("list", lambda c: c.list_objects_v2(Bucket="pass-b"), None),
    ("versions", lambda c: c.list_object_versions(Bucket="pass-b"), None),
    ("versioning", lambda c: c.get_bucket_versioning(Bucket="pass-b"), None),
    ("uploads", lambda c: c.list_multipart_uploads(Bucket="pass-b"), None),
    ("parts", lambda c: c.list_parts(Bucket="pass-b", Key="pending", UploadId=mp["UploadId"]), None),
]:
    out[name] = [strip(via_gw(alice)), strip(via_gw(c_alice))]
# Other tests make buckets on the same cluster meanwhile: the pair counts
# when the gateway's list is the same before and after the direct one.
names = lambda c: {"names": sorted(b["Name"] for b in c.list_buckets()["Buckets"])}
for _ in range(10):
    before, direct, after = names(alice), names(c_alice), names(alice)
    if before == after:
        break
out["buckets"] = [before, direct]
alice.abort_multipart_upload(Bucket="pass-b", Key="pending", UploadId=mp["UploadId"])
out["after_abort"] = strip(c_alice.list_multipart_uploads(Bucket="pass-b")).get("Uploads", [])
out["get"] = alice.get_object(Bucket="pass-b", Key="k0")["Body"].read().decode()
out["range"] = alice.get_object(Bucket="pass-b", Key="k2", Range="bytes=1-2")["Body"].read().decode()
out["bob_denied"] = code(lambda: bob.get_object(Bucket="pass-b", Key="k0"))
out["bad_signature"] = code(lambda: mk(GW, AK, "wrong-secret").list_objects_v2(Bucket="pass-b"))
print(json.dumps(out))
