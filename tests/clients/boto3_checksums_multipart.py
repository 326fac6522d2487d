# A scenario's steps: runs after tests/clients/boto3_checksums_prelude.py (tests/s3_checksums.rs).
M = 5 * 1024 * 1024
BODIES = [b"A" * M, b"B" * M, b"C" * M]
CASES = [
    ("SHA256", "COMPOSITE", ["275VF5loJr1YYawit0XSHREhkFXYkkPKGuoK0x9VKxI=", "mrHwOfjTL5Zwfj74F05HOQGLdUb7E5szdCbxgUSq6NM=",
                             "Vw7oB/nKQ5xWb3hNgbyfkvDiivl+U+/Dft48nfJfDow="], "uWBwpe1dxI4Vw8Gf0X9ynOdw/SS6VBzfWm9giiv1sf4=-3"),
    ("SHA1", "COMPOSITE", ["iIaTCGbm+vdVjNqIMF2S0T7ibMk=", "LS/TJ32bAVKEwRu+sE3X7awh/lk=", "6DDwovUaHwrKNXDMzOGbuvj9kxI="],
     "sizjvY4eud3MrcHdZM3cQ/ol39o=-3"),
    ("CRC64NVME", "FULL_OBJECT", ["L/E4WYn8v98=", "xW1l19VobYM=", "cK5MnNaWrW4="], "i+6LR0y3eFo="),
    ("CRC32", "FULL_OBJECT", ["JRTCyQ==", "QoZTGg==", "YAgjqw=="], "WgDhBQ=="),
    ("CRC32C", "FULL_OBJECT", ["MDaLrw==", "TH4EZg==", "Z7mBIQ=="], "xU+Krw=="),
]
s3.create_bucket(Bucket="mpsums")
def upload(key, alg, kind, sums, compute=False):
    r = s3.create_multipart_upload(Bucket="mpsums", Key=key, ChecksumAlgorithm=alg, ChecksumType=kind)
    u = r["UploadId"]
    created = [r.get("ChecksumAlgorithm"), r.get("ChecksumType")]
    parts = []
    for n, body in enumerate(BODIES, 1):
        kw = {"ChecksumAlgorithm": alg} if compute else {"Checksum" + alg: sums[n - 1]}
        r = s3.upload_part(Bucket="mpsums", Key=key, UploadId=u, PartNumber=n, Body=body, **kw)
        parts.append({"PartNumber": n, "ETag": r["ETag"], "Checksum" + alg: r.get("Checksum" + alg)})
    return u, created, parts
out["cases"] = {}
for alg, kind, sums, whole in CASES:
    key = "k-" + alg
    # boto3 computes what it can (SHA, CRC32); the CRC32C and CRC64NVME
    # values are s3-tests'.
    u, created, parts = upload(key, alg, kind, sums, compute=alg in ("SHA256", "SHA1", "CRC32"))
    c = {"created": created, "parts": [p["Checksum" + alg] for p in parts]}
    listed = s3.list_parts(Bucket="mpsums", Key=key, UploadId=u)
    c["list_parts"] = [listed.get("ChecksumAlgorithm"), listed.get("ChecksumType"),
                       [p.get("Checksum" + alg) for p in listed["Parts"]]]
    r = s3.complete_multipart_upload(Bucket="mpsums", Key=key, UploadId=u, MultipartUpload={"Parts": parts},
                                     **{"Checksum" + alg: whole})
    c["complete"] = [r.get("Checksum" + alg), r.get("ChecksumType"), r["ETag"]]
    h = s3.head_object(Bucket="mpsums", Key=key, ChecksumMode="ENABLED")
    c["head"] = [h.get("Checksum" + alg), h.get("ChecksumType")]
    h = s3.head_object(Bucket="mpsums", Key=key, PartNumber=2, ChecksumMode="ENABLED")
    c["part2"] = [h.get("Checksum" + alg), h.get("ChecksumType")]
    g = s3.get_object(Bucket="mpsums", Key=key)
    c["body"] = g["Body"].read() == b"".join(BODIES)
    a = s3.get_object_attributes(Bucket="mpsums", Key=key, ObjectAttributes=["Checksum", "ObjectParts"])
    c["attrs"] = [a["Checksum"], [p.get("Checksum" + alg) for p in a["ObjectParts"]["Parts"]]]
    again = s3.complete_multipart_upload(Bucket="mpsums", Key=key, UploadId=u, MultipartUpload={"Parts": parts})
    c["again"] = [again.get("Checksum" + alg), again["ETag"]]
    out["cases"][alg] = c
# Refusals. A completion that fails on a checksum leaves the upload to
# complete again.
SHA = CASES[0]
u, _, parts = upload("refused", "SHA256", "COMPOSITE", SHA[2])
out["wrong_whole"] = err(lambda: s3.complete_multipart_upload(Bucket="mpsums", Key="refused", UploadId=u,
                         MultipartUpload={"Parts": parts}, ChecksumSHA256=REF["SHA256"](b"x") + "-3"))
bare = [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in parts]
out["missing_part_sum"] = err(lambda: s3.complete_multipart_upload(Bucket="mpsums", Key="refused", UploadId=u,
                              MultipartUpload={"Parts": bare}))
wrong = [dict(p) for p in parts]
wrong[1]["ChecksumSHA256"] = SHA[2][0]
out["wrong_part_sum"] = err(lambda: s3.complete_multipart_upload(Bucket="mpsums", Key="refused", UploadId=u,
                            MultipartUpload={"Parts": wrong}))
out["wrong_type"] = err(lambda: s3.complete_multipart_upload(Bucket="mpsums", Key="refused", UploadId=u,
                        MultipartUpload={"Parts": parts}, ChecksumType="FULL_OBJECT"))
out["other_alg_part"] = err(lambda: s3.upload_part(Bucket="mpsums", Key="refused", UploadId=u, PartNumber=4,
                            Body=b"tail", ChecksumAlgorithm="CRC32"))
out["bad_part"] = err(lambda: s3.upload_part(Bucket="mpsums", Key="refused", UploadId=u, PartNumber=4,
                      Body=b"tail", ChecksumSHA256=REF["SHA256"](b"other")))
r = s3.complete_multipart_upload(Bucket="mpsums", Key="refused", UploadId=u, MultipartUpload={"Parts": parts})
out["after_refusals"] = r.get("ChecksumSHA256")
out["sha_full"] = err(lambda: s3.create_multipart_upload(Bucket="mpsums", Key="x", ChecksumAlgorithm="SHA256",
                      ChecksumType="FULL_OBJECT"))
# An upload without a checksum: the object gets S3's CRC64NVME.
plain = client(*DEV, request_checksum_calculation="when_required")
u = plain.create_multipart_upload(Bucket="mpsums", Key="plain")["UploadId"]
parts = []
for n, body in enumerate(BODIES, 1):
    r = plain.upload_part(Bucket="mpsums", Key="plain", UploadId=u, PartNumber=n, Body=body)
    parts.append({"PartNumber": n, "ETag": r["ETag"]})
listed_sums = [p for p in parts]
out["plain_listed_sum"] = err(lambda: plain.complete_multipart_upload(Bucket="mpsums", Key="plain", UploadId=u,
    MultipartUpload={"Parts": [dict(parts[0], ChecksumCRC32="AAAAAA==")] + parts[1:]}))
r = plain.complete_multipart_upload(Bucket="mpsums", Key="plain", UploadId=u, MultipartUpload={"Parts": parts})
out["plain"] = [r.get("ChecksumCRC64NVME"), r.get("ChecksumType")]
print(json.dumps(out))
