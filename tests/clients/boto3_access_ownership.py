# A scenario's steps: runs after tests/clients/boto3_prelude.py (tests/s3_access.rs, run).
def owner(c, b, k):
    r = c.get_object_acl(Bucket=b, Key=k)
    grants = sorted([g["Grantee"].get("DisplayName") or g["Grantee"].get("URI"), g["Permission"]]
                    for g in r["Grants"])
    return [r["Owner"]["DisplayName"], grants]
def everyone(b):
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "*"}, "Action": "*",
        "Resource": [f"arn:aws:s3:::{b}", f"arn:aws:s3:::{b}/*"]}]})
rules = lambda o: {"Rules": [{"ObjectOwnership": o}]}

# Created without x-amz-object-ownership: no controls, and ACLs work.
dev.create_bucket(Bucket="plain")
out["plain_controls"] = err(lambda: dev.get_bucket_ownership_controls(Bucket="plain"))
dev.put_object(Bucket="plain", Key="k", Body=b"x", ACL="public-read")
out["plain_acl"] = owner(dev, "plain", "k")
out["plain_anon"] = anon.get_object(Bucket="plain", Key="k")["Body"].read().decode()

# BucketOwnerEnforced: ACLs disabled, every object the bucket owner's.
out["enforced_public_create"] = err(lambda: dev.create_bucket(
    Bucket="enf-pub", ACL="public-read", ObjectOwnership="BucketOwnerEnforced"))
dev.create_bucket(Bucket="enf", ObjectOwnership="BucketOwnerEnforced")
out["enf_controls"] = dev.get_bucket_ownership_controls(Bucket="enf")["OwnershipControls"]["Rules"]
dev.put_bucket_policy(Bucket="enf", Policy=everyone("enf"))
other.put_object(Bucket="enf", Key="none", Body=b"a")
other.put_object(Bucket="enf", Key="bofc", Body=b"b", ACL="bucket-owner-full-control")
out["enf_owners"] = [owner(dev, "enf", "none"), owner(other, "enf", "bofc")]
out["enf_refused"] = [
    err(lambda: other.put_object(Bucket="enf", Key="p", Body=b"c", ACL="private")),
    err(lambda: other.put_object(Bucket="enf", Key="p", Body=b"c", ACL="public-read")),
    err(lambda: other.create_multipart_upload(Bucket="enf", Key="m", ACL="private")),
    err(lambda: other.copy_object(Bucket="enf", Key="c", CopySource="enf/none", ACL="private")),
    err(lambda: dev.put_bucket_acl(Bucket="enf", ACL="private")),
    err(lambda: dev.put_object_acl(Bucket="enf", Key="none", ACL="private")),
]
u = other.create_multipart_upload(Bucket="enf", Key="m")["UploadId"]
out["enf_upload_owner"] = other.list_parts(Bucket="enf", Key="m", UploadId=u)["Owner"]["DisplayName"]
other.copy_object(Bucket="enf", Key="c", CopySource="enf/none", ACL="bucket-owner-full-control")
out["enf_copy_owner"] = owner(dev, "enf", "c")[0]

# Grants stop counting once ACLs are disabled, and count again without
# the controls.
dev.create_bucket(Bucket="grants")
dev.put_object(Bucket="grants", Key="pub", Body=b"p", ACL="public-read")
out["grants_before"] = anon.get_object(Bucket="grants", Key="pub")["Body"].read().decode()
dev.put_bucket_ownership_controls(Bucket="grants", OwnershipControls=rules("BucketOwnerEnforced"))
out["grants_enforced"] = [err(lambda: anon.get_object(Bucket="grants", Key="pub")),
                          owner(dev, "grants", "pub")]
dev.delete_bucket_ownership_controls(Bucket="grants")
out["grants_deleted"] = [err(lambda: dev.get_bucket_ownership_controls(Bucket="grants")),
                         anon.get_object(Bucket="grants", Key="pub")["Body"].read().decode()]

# BucketOwnerPreferred: bucket-owner-full-control hands the object over.
dev.create_bucket(Bucket="pref")
dev.put_bucket_ownership_controls(Bucket="pref", OwnershipControls=rules("BucketOwnerPreferred"))
out["pref_controls"] = dev.get_bucket_ownership_controls(Bucket="pref")["OwnershipControls"]["Rules"]
dev.put_bucket_policy(Bucket="pref", Policy=everyone("pref"))
other.put_object(Bucket="pref", Key="bofc", Body=b"x", ACL="bucket-owner-full-control")
other.put_object(Bucket="pref", Key="mine", Body=b"x", ACL="private")
out["pref_owners"] = [owner(dev, "pref", "bofc")[0], owner(other, "pref", "mine")[0]]
# A bucket ACL that grants others bars BucketOwnerEnforced; once private,
# the setting takes, and the other account's object is the owner's.
dev.put_bucket_acl(Bucket="pref", ACL="public-read")
enforce = lambda: dev.put_bucket_ownership_controls(Bucket="pref", OwnershipControls=rules("BucketOwnerEnforced"))
out["pref_enforce_public"] = err(enforce)
dev.put_bucket_acl(Bucket="pref", ACL="private")
enforce()
out["pref_enforced_owner"] = owner(dev, "pref", "mine")
out["pref_listed_owners"] = sorted({o["Owner"]["DisplayName"]
    for o in dev.list_objects_v2(Bucket="pref", FetchOwner=True)["Contents"]})
out["bad_rule"] = err(lambda: dev.put_bucket_ownership_controls(Bucket="pref", OwnershipControls=rules("Nobody")))
out["others_controls"] = err(lambda: other.get_bucket_ownership_controls(Bucket="plain"))
