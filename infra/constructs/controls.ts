/**
 * Controls before money leaves (roles are in the API construct): the holds function's grants, the
 * approval thresholds of the functions that check them, and the events holds and payout-method
 * changes publish (`hold.*`, `partner.payout_method_changed`, e-mailed by the notifier).
 */
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { EventBus } from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { ENV } from '#shared/config/env.ts';
import type { HouseFunction } from './house-function.ts';

export interface ControlsProps {
  table: ITable;
  idempotencyTable: ITable;
  bus: EventBus;
  /** `EUR:100000,USD:100000` (minor units); empty: no approval needed. */
  approvalThresholds: string;
  /** The holds function. */
  holds: HouseFunction;
  /** Lets a function answer and start payout workflows (hold confirmation sends payouts back to draft). */
  bindWorkflow: (fn: HouseFunction) => void;
}

export class Controls extends Construct {
  private readonly bus: EventBus;
  private readonly approvalThresholds: string;

  constructor(scope: Construct, id: string, props: ControlsProps) {
    super(scope, id);
    this.bus = props.bus;
    this.approvalThresholds = props.approvalThresholds;
    props.holds
      .bindTable(ENV.tableName, props.table, 'readWrite')
      .bindTable(ENV.idempotencyTableName, props.idempotencyTable, 'readWrite');
    this.publishFrom(props.holds);
    props.bindWorkflow(props.holds);
  }

  /** The function publishes control events (holds placed automatically, payout-method changes). */
  publishFrom(fn: HouseFunction): void {
    fn.setEnv(ENV.eventBusName, this.bus.eventBusName);
    this.bus.grantPutEventsTo(fn.fn);
  }

  /** The function checks four-eyes approval (payouts: approve, mark paid; exports). */
  checkApprovals(fn: HouseFunction): void {
    if (this.approvalThresholds) fn.setEnv(ENV.approvalThresholds, this.approvalThresholds);
  }
}
