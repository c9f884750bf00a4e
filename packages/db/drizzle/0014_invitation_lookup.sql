-- An invitation link is opened by someone who is not yet a member of its workspace: the token's
-- hash is the one key that may find it across workspaces (read-only), as api_keys' key_hash does.
-- The accepting transaction is then scoped to the invitation's workspace by the app.
DROP POLICY IF EXISTS lookup_invitation ON invitations;
--> statement-breakpoint
CREATE POLICY lookup_invitation ON invitations FOR SELECT
  USING (token_hash = (SELECT hitrail_lookup('invitation')));
