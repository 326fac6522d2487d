# After tests/clients/boto3_prelude.py; `err` answers ["ok", status] too.
def err(f):
    try:
        r = f()
        return ["ok", r["ResponseMetadata"]["HTTPStatusCode"]]
    except ClientError as e:
        return [e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"],
                e.response["Error"].get("Message")]
dev.create_bucket(Bucket="cors-rt")
out["before"] = err(lambda: dev.get_bucket_cors(Bucket="cors-rt"))
rules = [
    {"ID": "uploads", "AllowedOrigins": ["https://*.example.com"], "AllowedMethods": ["PUT", "POST"],
     "AllowedHeaders": ["x-AMZ-*", "Content-Type"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 3000},
    {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "HEAD"]},
]
out["put"] = err(lambda: dev.put_bucket_cors(Bucket="cors-rt", CORSConfiguration={"CORSRules": rules}))
out["got"] = dev.get_bucket_cors(Bucket="cors-rt")["CORSRules"]
out["other_get"] = err(lambda: other.get_bucket_cors(Bucket="cors-rt"))[:2]
out["other_put"] = err(lambda: other.put_bucket_cors(Bucket="cors-rt", CORSConfiguration={"CORSRules": rules}))[:2]
out["other_delete"] = err(lambda: other.delete_bucket_cors(Bucket="cors-rt"))[:2]
def put(rules):
    return err(lambda: dev.put_bucket_cors(Bucket="cors-rt", CORSConfiguration={"CORSRules": rules}))
out["bad_method"] = put([{"AllowedOrigins": ["*"], "AllowedMethods": ["MYMETHOD"]}])
out["two_wildcards"] = put([{"AllowedOrigins": ["https://*.*.example"], "AllowedMethods": ["GET"]}])[:2]
out["header_wildcards"] = put([{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "AllowedHeaders": ["*-*"]}])[:2]
out["too_many"] = put([{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}] * 101)[:2]
out["hundred"] = put([{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}] * 100)
# 100 rules of 40 origins of 30 characters: far over 64 KiB of XML.
big = [{"AllowedOrigins": ["https://o%02d.%s.example" % (i, "x" * 10) for i in range(40)],
        "AllowedMethods": ["GET"]}] * 100
out["too_big"] = put(big)[:2]
# Refused configurations changed nothing: the 100 rules are still there.
out["still"] = len(dev.get_bucket_cors(Bucket="cors-rt")["CORSRules"])
out["delete"] = err(lambda: dev.delete_bucket_cors(Bucket="cors-rt"))
out["after"] = err(lambda: dev.get_bucket_cors(Bucket="cors-rt"))[:2]
out["delete_again"] = err(lambda: dev.delete_bucket_cors(Bucket="cors-rt"))
out["missing_bucket"] = err(lambda: dev.get_bucket_cors(Bucket="cors-nobody"))[:2]
# A bucket made again under the name starts without the old rules.
dev.put_bucket_cors(Bucket="cors-rt", CORSConfiguration={"CORSRules": rules})
dev.delete_bucket(Bucket="cors-rt")
dev.create_bucket(Bucket="cors-rt")
out["recreated"] = err(lambda: dev.get_bucket_cors(Bucket="cors-rt"))[:2]
print(json.dumps(out))
