# After tests/clients/boto3_prelude.py.
import hashlib, urllib.request, urllib.error
import libtorrent as lt
names = {"null": "null"}
def name(v):
    return names.get(v, "unnamed" if v else None)
def label(v, n):
    names[v] = n
    return v
def err(f):
    try:
        return f()
    except ClientError as e:
        h = e.response["ResponseMetadata"]["HTTPHeaders"]
        return [e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"],
                h.get("x-amz-delete-marker"), name(h.get("x-amz-version-id"))]
def get(bucket, key, **kw):
    return err(lambda: dev.get_object(Bucket=bucket, Key=key, **kw)["Body"].read().decode())
def head(bucket, key, **kw):
    return err(lambda: [dev.head_object(Bucket=bucket, Key=key, **kw)["ContentLength"]])
def put(bucket, key, body, n=None, **kw):
    r = dev.put_object(Bucket=bucket, Key=key, Body=body, **kw)
    if n:
        label(r["VersionId"], n)
    return "VersionId" in r
def versions(bucket, **kw):
    r = dev.list_object_versions(Bucket=bucket, **kw)
    return ([[v["Key"], name(v["VersionId"]), v["IsLatest"],
              get(bucket, v["Key"], VersionId=v["VersionId"])] for v in r.get("Versions", [])],
            [[m["Key"], name(m["VersionId"]), m["IsLatest"]] for m in r.get("DeleteMarkers", [])])
def anonymous(path):
    try:
        with urllib.request.urlopen(ep + path, timeout=60) as r:
            return [r.status, r.read()]
    except urllib.error.HTTPError as e:
        return [e.code, e.read()]
def describes(torrent, data):
    # The torrent's pieces, as libtorrent reads them, are the SHA-1s of data.
    ti = lt.torrent_info(lt.bdecode(torrent))
    size = ti.piece_length()
    return (ti.total_size() == len(data) and ti.num_pieces() == (len(data) + size - 1) // size
            and all(bytes(ti.hash_for_piece(i)) == hashlib.sha1(data[i * size:(i + 1) * size]).digest()
                    for i in range(ti.num_pieces())))
def status(bucket):
    return dev.get_bucket_versioning(Bucket=bucket).get("Status")

# Versioning on a bucket with an object from before: that object is the
# null version; each write is a new version, with its ID in the answer.
dev.create_bucket(Bucket="ver")
out["never"] = status("ver")
out["unversioned_put"] = put("ver", "k", b"p0")
dev.put_bucket_versioning(Bucket="ver", VersioningConfiguration={"Status": "Enabled"})
out["enabled"] = status("ver")
out["put_versions"] = [put("ver", "k", b"one", "v1"), put("ver", "k", b"two", "v2")]
vid = {n: v for v, n in names.items()}
out["reads"] = [get("ver", "k"), name(dev.get_object(Bucket="ver", Key="k")["VersionId"]),
                get("ver", "k", VersionId=vid["v1"]), get("ver", "k", VersionId="null"),
                name(dev.get_object(Bucket="ver", Key="k", VersionId="null")["VersionId"]),
                head("ver", "k", VersionId=vid["v1"]),
                get("ver", "k", VersionId="0123456789abcdef0123456789abcdef")]
out["listed"] = [o["Key"] for o in dev.list_objects_v2(Bucket="ver").get("Contents", [])]
out["versions"] = versions("ver")

# A delete marker, and what each request answers while it is the newest.
d = dev.delete_object(Bucket="ver", Key="k")
label(d["VersionId"], "m1")
out["marker_made"] = [d.get("DeleteMarker"), name(d["VersionId"])]
vid = {n: v for v, n in names.items()}
out["marker_table"] = [
    ["GET", get("ver", "k")],
    ["HEAD", head("ver", "k")],
    ["GET marker", get("ver", "k", VersionId=vid["m1"])],
    ["HEAD marker", head("ver", "k", VersionId=vid["m1"])],
    ["GET v1", get("ver", "k", VersionId=vid["v1"])],
    ["GetObjectAcl marker", err(lambda: dev.get_object_acl(Bucket="ver", Key="k", VersionId=vid["m1"]) and "acl")],
    ["ListObjectsV2", [o["Key"] for o in dev.list_objects_v2(Bucket="ver").get("Contents", [])]],
    ["anonymous ?torrent", anonymous("/ver/k?torrent")[0]],
]
out["versions_with_marker"] = versions("ver")
d = dev.delete_object(Bucket="ver", Key="k", VersionId=vid["m1"])
out["marker_deleted"] = [d.get("DeleteMarker"), name(d.get("VersionId")), get("ver", "k")]

# CopyObject from a version (to another key, and onto its own key, which
# restores it), with the source version in the answer.
r = dev.copy_object(Bucket="ver", Key="c", CopySource={"Bucket": "ver", "Key": "k", "VersionId": vid["v1"]})
label(r["VersionId"], "c1")
out["copy"] = [name(r.get("CopySourceVersionId")), get("ver", "c")]
r = dev.copy_object(Bucket="ver", Key="k", CopySource={"Bucket": "ver", "Key": "k", "VersionId": "null"})
label(r["VersionId"], "v3")
out["restore"] = [get("ver", "k"), [v[1] for v in versions("ver", Prefix="k")[0]]]

# A completed multipart upload is a new version.
u = dev.create_multipart_upload(Bucket="ver", Key="k")["UploadId"]
e = dev.upload_part(Bucket="ver", Key="k", UploadId=u, PartNumber=1, Body=b"multi")["ETag"]
r = dev.complete_multipart_upload(Bucket="ver", Key="k", UploadId=u,
                                  MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
label(r["VersionId"], "mp")
out["multipart"] = [get("ver", "k"), [v[1] for v in versions("ver", Prefix="k")[0]]]
vid = {n: v for v, n in names.items()}

# Each version has its own ACL: v1 made public is readable anonymously
# (and its torrent too), the current version is not.
dev.put_object_acl(Bucket="ver", Key="k", VersionId=vid["v1"], ACL="public-read")
grants = lambda **kw: sorted(g["Grantee"].get("URI", "owner") + " " + g["Permission"]
                             for g in dev.get_object_acl(Bucket="ver", Key="k", **kw)["Grants"])
out["acls"] = [grants(VersionId=vid["v1"]), grants(), grants(VersionId=vid["v2"])]
a = anonymous("/ver/k?versionId=" + vid["v1"])
out["anonymous"] = [[a[0], a[1].decode()], anonymous("/ver/k")[0],
                    anonymous("/ver/k?versionId=" + vid["v2"])[0]]
t = anonymous("/ver/k?torrent&versionId=" + vid["v1"])
out["version_torrent"] = [t[0], t[0] == 200 and describes(t[1], b"one"),
                          anonymous("/ver/k?torrent")[0],
                          anonymous("/ver/k?torrent&versionId=0123456789abcdef0123456789abcdef")[0]]
out["other_reads_v1"] = err(lambda: other.get_object(Bucket="ver", Key="k", VersionId=vid["v1"])["Body"].read().decode())

# DeleteObjects: a version for good, a delete marker, a version that is
# not there (deleted all the same, as S3 answers).
r = dev.delete_objects(Bucket="ver", Delete={"Objects": [
    {"Key": "k", "VersionId": vid["v2"]}, {"Key": "c"},
    {"Key": "k", "VersionId": "0123456789abcdef0123456789abcdef"}]})
for d in r.get("Deleted", []):
    if d.get("DeleteMarkerVersionId") and d["DeleteMarkerVersionId"] not in names:
        label(d["DeleteMarkerVersionId"], "cm")
out["delete_objects"] = sorted([d["Key"], name(d.get("VersionId")), d.get("DeleteMarker"),
                                name(d.get("DeleteMarkerVersionId"))] for d in r.get("Deleted", []))
out["delete_objects_errors"] = r.get("Errors", [])
out["after_delete_objects"] = [[v[1] for v in versions("ver", Prefix="k")[0]], versions("ver", Prefix="c")[1], get("ver", "c")]
out["not_empty"] = err(lambda: dev.delete_bucket(Bucket="ver"))

# The torrent of each version: different versions, different torrents;
# each describes its own bytes.
one, two = bytes(range(256)) * 1200, bytes(reversed(range(256))) * 1300
put("ver", "t", one, "t1", ACL="public-read")
put("ver", "t", two, "t2", ACL="public-read")
vid = {n: v for v, n in names.items()}
t1 = anonymous("/ver/t?torrent&versionId=" + vid["t1"])[1]
t2 = anonymous("/ver/t?torrent&versionId=" + vid["t2"])[1]
cur = anonymous("/ver/t?torrent")[1]
out["torrents"] = [describes(t1, one), describes(t2, two), describes(cur, two), t1 != t2, cur == t2]

# To a bucket policy, a version named by its ID is s3:GetObjectVersion, the
# current one s3:GetObject, as in S3.
dev.create_bucket(Bucket="pol")
dev.put_bucket_versioning(Bucket="pol", VersioningConfiguration={"Status": "Enabled"})
put("pol", "p", b"old", "p1")
put("pol", "p", b"new", "p2")
vid = {n: v for v, n in names.items()}
policy = lambda actions: json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": "*", "Action": actions, "Resource": "arn:aws:s3:::pol/*"}]})
dev.put_bucket_policy(Bucket="pol", Policy=policy("s3:GetObject"))
out["policy_versions"] = [anonymous("/pol/p")[0], anonymous("/pol/p?versionId=" + vid["p1"])[0]]
dev.put_bucket_policy(Bucket="pol", Policy=policy(["s3:GetObject", "s3:GetObjectVersion"]))
a = anonymous("/pol/p?versionId=" + vid["p1"])
out["policy_versions"].append([a[0], a[1].decode()])
# Listing the versions is s3:ListBucketVersions, listing the keys s3:ListBucket.
lister = lambda actions: json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": "*", "Action": actions, "Resource": "arn:aws:s3:::pol"}]})
dev.put_bucket_policy(Bucket="pol", Policy=lister("s3:ListBucket"))
out["policy_lists"] = [anonymous("/pol?list-type=2")[0], anonymous("/pol?versions")[0]]
dev.put_bucket_policy(Bucket="pol", Policy=lister(["s3:ListBucket", "s3:ListBucketVersions"]))
out["policy_lists"].append(anonymous("/pol?versions")[0])

# A suspended bucket: writes make the null version, replacing the one
# there was; versions with IDs stay. A table of the bucket after each step.
dev.create_bucket(Bucket="sus")
put("sus", "x", b"n0")
dev.put_bucket_versioning(Bucket="sus", VersioningConfiguration={"Status": "Enabled"})
put("sus", "x", b"a", "a1")
dev.put_bucket_versioning(Bucket="sus", VersioningConfiguration={"Status": "Suspended"})
out["suspended"] = status("sus")
table = []
def step(what, answer):
    table.append([what, answer, get("sus", "x"), versions("sus")])
step("put s1", put("sus", "x", b"s1"))
step("put s2", put("sus", "x", b"s2"))
d = dev.delete_object(Bucket="sus", Key="x")
step("delete", [d.get("DeleteMarker"), d.get("VersionId")])
step("put s3", put("sus", "x", b"s3"))
dev.put_bucket_versioning(Bucket="sus", VersioningConfiguration={"Status": "Enabled"})
step("enable, put b", put("sus", "x", b"b", "b1"))
d = dev.delete_object(Bucket="sus", Key="x", VersionId="null")
step("delete null", [d.get("DeleteMarker"), d.get("VersionId")])
dev.put_bucket_versioning(Bucket="sus", VersioningConfiguration={"Status": "Suspended"})
d = dev.delete_object(Bucket="sus", Key="x")
step("suspend, delete", [d.get("DeleteMarker"), d.get("VersionId")])
out["suspended_table"] = table
out["bad_status"] = err(lambda: dev.put_bucket_versioning(Bucket="sus", VersioningConfiguration={"Status": "Off"}))
out["other_sets"] = err(lambda: other.put_bucket_versioning(Bucket="sus", VersioningConfiguration={"Status": "Enabled"}))

# ListObjectVersions pages: versions and markers count together, a
# common prefix takes one slot, and the markers resume where a page ended.
dev.create_bucket(Bucket="pages")
dev.put_bucket_versioning(Bucket="pages", VersioningConfiguration={"Status": "Enabled"})
for n in ["a1", "a2", "a3"]:
    put("pages", "a", n.encode(), n)
put("pages", "b", b"b1", "b1")
label(dev.delete_object(Bucket="pages", Key="b")["VersionId"], "bm")
put("pages", "d/x", b"dx", "dx")
put("pages", "d/y", b"dy", "dy")
put("pages", "e", b"e1", "e1")
def pages(**kw):
    got, marker = [], {}
    for _ in range(20):
        r = dev.list_object_versions(Bucket="pages", MaxKeys=2, **kw, **marker)
        got.append([[v["Key"] + "@" + name(v["VersionId"]) for v in r.get("Versions", [])],
                    [m["Key"] + "@" + name(m["VersionId"]) for m in r.get("DeleteMarkers", [])],
                    [p["Prefix"] for p in r.get("CommonPrefixes", [])],
                    r["IsTruncated"], r.get("NextKeyMarker"), name(r.get("NextVersionIdMarker"))])
        if not r["IsTruncated"]:
            break
        marker = {"KeyMarker": r["NextKeyMarker"]}
        if r.get("NextVersionIdMarker"):
            marker["VersionIdMarker"] = r["NextVersionIdMarker"]
    return got
out["pages"] = pages()
out["pages_delimited"] = pages(Delimiter="/")
out["prefix"] = [[v[0], v[1]] for v in versions("pages", Prefix="d/")[0]]
out["marker_without_key"] = err(lambda: dev.list_object_versions(Bucket="pages", VersionIdMarker="null"))
print(json.dumps(out))
