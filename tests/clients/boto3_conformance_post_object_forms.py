# A scenario's steps: runs after tests/clients/boto3_conformance_prelude.py (tests/s3_conformance.rs, run).
import hashlib, urllib3
http = urllib3.PoolManager(retries=False)
def post(bucket, fields, body=b"form body"):
    fields = dict(fields)
    fields["file"] = ("f.txt", body)
    r = http.request("POST", f"{ep}/{bucket}", fields=fields, redirect=False)
    return [r.status, r.headers.get("ETag"), r.headers.get("Location"), r.data.decode()]
md5 = '"%s"' % hashlib.md5(b"form body").hexdigest()
v4 = client(*DEV, signature_version="s3v4")
dev.create_bucket(Bucket="forms-open", ACL="public-read-write")
dev.create_bucket(Bucket="forms")
out["anonymous"] = post("forms-open", {"key": "anon.txt"})[:2]
out["anonymous_got"] = dev.get_object(Bucket="forms-open", Key="anon.txt")["Body"].read().decode()
out["anonymous_private"] = post("forms", {"key": "anon.txt"})[0]
p = v4.generate_presigned_post("forms", "signed.txt",
    Fields={"success_action_status": "201"},
    Conditions=[{"success_action_status": "201"}, ["content-length-range", 0, 100]])
out["created"] = post("forms", p["fields"])
out["signed_got"] = dev.get_object(Bucket="forms", Key="signed.txt")["Body"].read().decode()
redirect = "http://example.test/done"
p = v4.generate_presigned_post("forms", "redirected.txt",
    Fields={"success_action_redirect": redirect},
    Conditions=[{"success_action_redirect": redirect}])
out["redirected"] = post("forms", p["fields"])
p = v4.generate_presigned_post("forms", "small.txt", Conditions=[["content-length-range", 0, 4]])
out["too_large"] = post("forms", p["fields"])[0]
p = v4.generate_presigned_post("forms", "expired.txt", ExpiresIn=-10)
out["expired"] = post("forms", p["fields"])[0]
p = v4.generate_presigned_post("forms", "forged.txt")
p["fields"]["x-amz-signature"] = "0" * 64
out["forged"] = post("forms", p["fields"])[0]
# SigV2 forms (boto3's default signer for them) are checked too.
p = dev.generate_presigned_post("forms", "v2.txt")
out["v2"] = post("forms", p["fields"])[0]
p["fields"]["signature"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAA="
out["forged_v2"] = post("forms", p["fields"])[0]
out["md5"] = md5
