/**
 * A dead-letter queue with the house settings: SQS-managed encryption, TLS only, 14 days to look at
 * what failed. `DeadLetterQueue.all` finds every one in a scope, so each gets its depth alarm.
 */
import { Duration } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct, IConstruct } from 'constructs';

export class DeadLetterQueue extends Queue {
  /** Every dead-letter queue under `scope`, in construct-tree order. */
  static all(scope: IConstruct): DeadLetterQueue[] {
    return scope.node.findAll().filter((child): child is DeadLetterQueue => child instanceof DeadLetterQueue);
  }

  constructor(scope: Construct, id: string) {
    super(scope, id, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
  }
}
