# After tests/clients/boto3_prelude.py.
ak, sk, op, *a = sys.argv[2:]
s3 = client(ak, sk)
try:
    if op == "mb":
        s3.create_bucket(Bucket=a[0]); out = {}
    elif op == "put":
        kw = {"ContentMD5": a[4]} if len(a) > 4 else {}
        r = s3.put_object(Bucket=a[0], Key=a[1], Body=open(a[2], "rb").read(), ACL=a[3], **kw)
        out = {"etag": r["ETag"]}
    elif op == "acl":
        s3.put_object_acl(Bucket=a[0], Key=a[1], ACL=a[2]); out = {}
    elif op == "getacl":
        r = s3.get_object_acl(Bucket=a[0], Key=a[1])
        out = {"grants": sorted((g["Grantee"].get("URI") or g["Grantee"].get("ID"), g["Permission"]) for g in r["Grants"])}
    elif op == "get":
        r = s3.get_object(Bucket=a[0], Key=a[1], **({"Range": a[2]} if len(a) > 2 else {}))
        body = r["Body"].read(); open(a[-1] if len(a) > 3 else "/dev/null", "wb").write(body)
        out = {"len": len(body), "etag": r["ETag"], "range": r.get("ContentRange")}
    elif op == "head":
        r = s3.head_object(Bucket=a[0], Key=a[1]); out = {"len": r["ContentLength"]}
    elif op == "list":
        r = s3.list_objects_v2(Bucket=a[0], **({"Prefix": a[1]} if len(a) > 1 else {}))
        out = {"keys": [o["Key"] for o in r.get("Contents", [])]}
    elif op == "listpages":
        # Every page of ListObjectsV2 with a delimiter and max-keys: [[keys, prefixes], ...].
        pages, token = [], None
        while len(pages) < 20:
            kw = {"ContinuationToken": token} if token else {}
            r = s3.list_objects_v2(Bucket=a[0], Delimiter=a[1], MaxKeys=int(a[2]), **kw)
            pages.append([[o["Key"] for o in r.get("Contents", [])],
                          [p["Prefix"] for p in r.get("CommonPrefixes", [])]])
            if not r["IsTruncated"]:
                break
            token = r["NextContinuationToken"]
        out = {"pages": pages}
    elif op == "buckets":
        out = {"buckets": [b["Name"] for b in s3.list_buckets()["Buckets"]]}
    elif op == "rm":
        s3.delete_object(Bucket=a[0], Key=a[1]); out = {}
    elif op == "payer":
        s3.put_bucket_request_payment(Bucket=a[0], RequestPaymentConfiguration={"Payer": "Requester"}); out = {}
    elif op == "mpu":
        r = s3.create_multipart_upload(Bucket=a[0], Key=a[1], **({"ACL": a[2]} if len(a) > 2 else {}))
        out = {"upload": r["UploadId"]}
    elif op == "part":
        r = s3.upload_part(Bucket=a[0], Key=a[1], UploadId=a[2], PartNumber=int(a[3]), Body=open(a[4], "rb").read())
        out = {"etag": r["ETag"]}
    elif op == "complete":
        parts = [{"PartNumber": n, "ETag": e} for n, e in json.loads(a[3])]
        r = s3.complete_multipart_upload(Bucket=a[0], Key=a[1], UploadId=a[2], MultipartUpload={"Parts": parts})
        out = {"etag": r["ETag"]}
    elif op == "abort":
        s3.abort_multipart_upload(Bucket=a[0], Key=a[1], UploadId=a[2]); out = {}
    elif op == "parts":
        r = s3.list_parts(Bucket=a[0], Key=a[1], UploadId=a[2])
        out = {"parts": [[p["PartNumber"], p["ETag"], p["Size"]] for p in r.get("Parts", [])]}
    elif op == "uploads":
        r = s3.list_multipart_uploads(Bucket=a[0])
        out = {"uploads": [[u["Key"], u["UploadId"]] for u in r.get("Uploads", [])]}
    elif op == "torrent":
        kw = {"RequestPayer": "requester"} if "payer" in a[3:] else {}
        r = s3.get_object_torrent(Bucket=a[0], Key=a[1], **kw)
        open(a[2], "wb").write(r["Body"].read())
        out = {"charged": r.get("RequestCharged"), "type": r["ResponseMetadata"]["HTTPHeaders"].get("content-type")}
    elif op == "ssec-put":
        # a[3]: the customer key (32 bytes); boto3 sends it base64 with its MD5.
        r = s3.put_object(Bucket=a[0], Key=a[1], Body=open(a[2], "rb").read(),
                          SSECustomerAlgorithm="AES256", SSECustomerKey=a[3])
        out = {"etag": r["ETag"], "key_md5": r.get("SSECustomerKeyMD5")}
    elif op == "ssec-get":
        r = s3.get_object(Bucket=a[0], Key=a[1], SSECustomerAlgorithm="AES256", SSECustomerKey=a[2])
        body = r["Body"].read(); open(a[3], "wb").write(body)
        out = {"len": len(body), "key_md5": r.get("SSECustomerKeyMD5")}
    elif op == "policy":
        s3.put_bucket_policy(Bucket=a[0], Policy=a[1]); out = {}
    elif op == "presign":
        # a[2]: botocore's signature version, "s3v4" (SigV4) or "s3" (SigV2).
        signer = boto3.client("s3", endpoint_url=ep, aws_access_key_id=ak, aws_secret_access_key=sk,
                              region_name="us-east-1",
                              config=Config(signature_version=a[2], s3={"addressing_style": "path"}))
        out = {"url": signer.generate_presigned_url("get_object", Params={"Bucket": a[0], "Key": a[1]}, ExpiresIn=300)}
    else:
        raise SystemExit("unknown op " + op)
except ClientError as e:
    out = {"error": e.response["Error"]["Code"], "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
           "message": e.response["Error"].get("Message")}
print(json.dumps(out))
