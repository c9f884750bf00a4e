import { listInvitations, revokeInvitation } from "../services/members/invitations.ts";
import { inviteMember } from "../services/members/invite.ts";
import { listMembers } from "../services/members/list.ts";
import { removeMember } from "../services/members/remove.ts";
import { setMemberRole } from "../services/members/set-role.ts";
import { router, serviceMutation, serviceQuery } from "../trpc.ts";

// Members join only through invitations (members.invite, then invitations.accept or .signUp):
// adding an address directly would hand its access to whoever registered it first.
export const membersRouter = router({
  list: serviceQuery(listMembers),
  invite: serviceMutation(inviteMember),
  invitations: serviceQuery(listInvitations),
  revokeInvitation: serviceMutation(revokeInvitation),
  setRole: serviceMutation(setMemberRole),
  remove: serviceMutation(removeMember),
});
