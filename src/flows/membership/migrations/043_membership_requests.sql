-- What admins were last asked to do for each person (`requested_at` says when), so a sync asks
-- once and re-asks only after the reminder interval, and what the Admin API said about them.
ALTER TABLE directory_members
  ADD COLUMN requested_action text,  -- 'invite' | 'deactivate' | 'reactivate': the open request, cleared once nothing is needed
  ADD COLUMN invite_error     text;  -- the Slack error code of the last admin.users.invite that failed for good (invalid_email, …)
