/**
 * How tokens of an external issuer (`-c jwtIssuer`) name their claims; Cognito user pool tokens are
 * read by their fixed names (`cognito:groups`, `custom:partner_id`). Read once, at module load.
 */
import { ENV, optionalEnv } from './env.ts';

export interface ExternalClaimNames {
  /** A single role: `manager` (= admin) or `partner`. */
  role: string;
  /** An array of manager roles (`viewer`, `program_manager`, `finance`, `admin`). */
  roles: string;
  partnerId: string;
}

export const DEFAULT_CLAIM_NAMES: ExternalClaimNames = {
  role: 'role',
  roles: 'roles',
  partnerId: 'partner_id',
};

export const externalClaimNames: ExternalClaimNames = {
  role: optionalEnv(ENV.jwtRoleClaim, DEFAULT_CLAIM_NAMES.role),
  roles: optionalEnv(ENV.jwtRolesClaim, DEFAULT_CLAIM_NAMES.roles),
  partnerId: optionalEnv(ENV.jwtPartnerIdClaim, DEFAULT_CLAIM_NAMES.partnerId),
};
