import { addMember } from "../services/members/add.ts";
import { listMembers } from "../services/members/list.ts";
import { removeMember } from "../services/members/remove.ts";
import { setMemberRole } from "../services/members/set-role.ts";
import { router, serviceMutation, serviceQuery } from "../trpc.ts";

export const membersRouter = router({
  list: serviceQuery(listMembers),
  add: serviceMutation(addMember),
  setRole: serviceMutation(setMemberRole),
  remove: serviceMutation(removeMember),
});
