# After tests/clients/boto3_prelude.py: `grants(r)`, an ACL answer's grants
# as [type, URI or display name, permission].
def grants(r):
    return [[g["Grantee"]["Type"], g["Grantee"].get("URI") or g["Grantee"].get("DisplayName"),
             g["Permission"]] for g in r["Grants"]]
