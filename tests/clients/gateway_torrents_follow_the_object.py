# A scenario's steps: runs after tests/clients/boto3_gateway_prelude.py (tests/support/ceph.rs, scenario).
p1, p2, one, two = (open(a, "rb").read() for a in ARGS)
alice.create_bucket(Bucket="ver-b")
mp = alice.create_multipart_upload(Bucket="ver-b", Key="multi")
e1 = alice.upload_part(Bucket="ver-b", Key="multi", UploadId=mp["UploadId"], PartNumber=1, Body=p1)["ETag"]
e2 = alice.upload_part(Bucket="ver-b", Key="multi", UploadId=mp["UploadId"], PartNumber=2, Body=p2)["ETag"]
alice.complete_multipart_upload(Bucket="ver-b", Key="multi", UploadId=mp["UploadId"],
    MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
out = {"multi": torrent(alice, "ver-b", "multi")}
alice.put_object(Bucket="ver-b", Key="over", Body=one)
out["over1"] = torrent(alice, "ver-b", "over")
alice.put_object(Bucket="ver-b", Key="over", Body=two)
out["over2"] = torrent(alice, "ver-b", "over")
alice.create_bucket(Bucket="ver-v")
alice.put_bucket_versioning(Bucket="ver-v", VersioningConfiguration={"Status": "Enabled"})
v1 = alice.put_object(Bucket="ver-v", Key="k", Body=one)["VersionId"]
v2 = alice.put_object(Bucket="ver-v", Key="k", Body=two)["VersionId"]
out["v1"] = torrent(alice, "ver-v", "k", version=v1)
out["v2"] = torrent(alice, "ver-v", "k", version=v2)
out["current"] = torrent(alice, "ver-v", "k")
out["bad_version"] = torrent(alice, "ver-v", "k", version="no-such-version-id")
print(json.dumps(out))
