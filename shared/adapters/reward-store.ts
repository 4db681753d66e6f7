/**
 * Reward items written by the rewards use cases (../usecases/rewards.ts): new rewards with their
 * outbox, the externalId lock, and a manager's decision. Claims, releases and payments of rewards
 * are with the payouts (./payout-store.ts).
 */
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Reward, RewardStatus } from '../domain/schemas.ts';
import { dynamo } from './clients.ts';
import { OUTBOX, type OutboxEntry } from './outbox.ts';
import { toReward } from './payout-store.ts';
import { isConditionalCheckFailed, keys, table, VERSION_BUMP, writeIf } from './table.ts';

/** Puts a new reward item with its outbox; false when it exists already (nothing written). */
export async function putNewReward(
  item: Record<string, unknown>,
  outbox: readonly OutboxEntry[],
): Promise<boolean> {
  return writeIf(
    new PutCommand({
      TableName: table(),
      Item: { ...item, [OUTBOX]: outbox },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

export interface ExternalIdLock<Request> {
  rewardId: string;
  request: Request;
}

/** Takes the lock of an externalId for a reward id (write-once); false when it is taken. */
export async function lockExternalId(
  externalId: string,
  rewardId: string,
  request: unknown,
): Promise<boolean> {
  return writeIf(
    new PutCommand({
      TableName: table(),
      Item: { ...keys.rewardExternal(externalId), type: 'reward_ext', rewardId, request },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

/** The lock of an externalId (read consistently). */
export async function findExternalIdLock<Request>(externalId: string): Promise<ExternalIdLock<Request>> {
  const lock = await dynamo().send(
    new GetCommand({ TableName: table(), Key: keys.rewardExternal(externalId), ConsistentRead: true }),
  );
  return { rewardId: String(lock.Item?.rewardId), request: (lock.Item?.request ?? {}) as Request };
}

/**
 * Sets a reward's decided status, while it is still pending, accepted or refused and in the same
 * payout (`payoutId`, or none). `unclaimed`: the index keys that make it draftable again. Undefined
 * when the reward changed meanwhile.
 */
export async function writeRewardDecision(
  id: string,
  change: {
    status: RewardStatus;
    reason?: string | undefined;
    payoutId: string | null;
    unclaimed?: { GSI3PK: string; GSI3SK: string } | undefined;
    at: string;
  },
): Promise<Reward | undefined> {
  const refuse = change.status === 'refused';
  const { unclaimed } = change;
  try {
    const result = await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.reward(id),
        UpdateExpression: refuse
          ? `SET #status = :status, refusalReason = :reason, updatedAt = :at, ${VERSION_BUMP.set} REMOVE GSI3PK, GSI3SK`
          : `SET #status = :status, updatedAt = :at, ${VERSION_BUMP.set}${unclaimed ? ', GSI3PK = :u1, GSI3SK = :u2' : ''} REMOVE refusalReason`,
        ConditionExpression: change.payoutId
          ? '#status IN (:pending, :accepted, :refused) AND payoutId = :po'
          : '#status IN (:pending, :accepted, :refused) AND attribute_not_exists(payoutId)',
        ExpressionAttributeNames: { '#status': 'status', ...VERSION_BUMP.names },
        ExpressionAttributeValues: {
          ...VERSION_BUMP.values,
          ':status': change.status,
          ':at': change.at,
          ':pending': 'pending',
          ':accepted': 'accepted',
          ':refused': 'refused',
          ...(refuse ? { ':reason': change.reason } : {}),
          ...(unclaimed ? { ':u1': unclaimed.GSI3PK, ':u2': unclaimed.GSI3SK } : {}),
          ...(change.payoutId ? { ':po': change.payoutId } : {}),
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return toReward(result.Attributes ?? {});
  } catch (error) {
    if (isConditionalCheckFailed(error)) return undefined;
    throw error;
  }
}
