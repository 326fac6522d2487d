# A scenario's steps: runs after tests/clients/boto3_gateway_prelude.py (tests/support/ceph.rs, scenario).
data = open(ARGS[0], "rb").read()
c_alice.create_bucket(Bucket="acl-b")
c_alice.put_object(Bucket="acl-b", Key="dir/public", Body=data, ACL="public-read")
c_alice.put_object(Bucket="acl-b", Key="private", Body=data)
c_alice.put_object(Bucket="acl-b", Key="granted", Body=data)
c_alice.put_object_acl(Bucket="acl-b", Key="granted", GrantRead="id=bob")
c_alice.create_bucket(Bucket="acl-policy")
c_alice.put_bucket_policy(Bucket="acl-policy", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acl-policy/*"}]}))
c_alice.put_object(Bucket="acl-policy", Key="by-policy", Body=data)
out = {
  "anon_public": torrent(anon, "acl-b", "dir/public"),
  "anon_private": torrent(anon, "acl-b", "private"),
  "alice_private": torrent(alice, "acl-b", "private"),
  "bob_private": torrent(bob, "acl-b", "private"),
  "bob_granted": torrent(bob, "acl-b", "granted"),
  "anon_granted": torrent(anon, "acl-b", "granted"),
  "anon_policy": torrent(anon, "acl-policy", "by-policy"),
  "anon_missing": torrent(anon, "acl-b", "missing"),
  "alice_missing": torrent(alice, "acl-b", "missing"),
  "alice_no_bucket": torrent(alice, "no-such-bucket-here", "k"),
  "anon_policy_missing": torrent(anon, "acl-policy", "missing"),
  # The ACL alone would refuse this one: the policy is what grants it.
  "acl_of_policy_object": [g["Grantee"].get("URI") for g in c_alice.get_object_acl(Bucket="acl-policy", Key="by-policy")["Grants"]],
}
print(json.dumps(out))
