import { createCB } from 'xmlbuilder2';
let out: string[] = []; let size = 0;
const xml = createCB({ data: (c) => { out.push(c); }, end: () => {}, prettyPrint: true, wellFormed: true });
const t0 = performance.now();
xml.dec({ version: '1.0', encoding: 'UTF-8' }).ele('urn:iso:std:iso:20022:tech:xsd:pain.001.001.09', 'Document').ele('CstmrCdtTrfInitn');
for (let i = 0; i < 10000; i++) {
  xml.ele('CdtTrfTxInf').ele('PmtId').ele('EndToEndId').txt('po-01J' + i).up().up()
  .ele('Amt').ele('InstdAmt', { Ccy: 'EUR' }).txt('12.50').up().up()
  .ele('Cdtr').ele('Nm').txt('Jose & Co <x>').up().ele('PstlAdr').ele('TwnNm').txt('Paris').up().ele('Ctry').txt('FR').up().up().up()
  .ele('CdtrAcct').ele('Id').ele('IBAN').txt('FR7630006000011234567890189').up().up().up()
  .ele('RmtInf').ele('Ustrd').txt('Partner payout').up().up().up();
  if (i % 100 === 0) { size += out.join('').length; out = []; }
}
xml.up().up().end();
size += out.join('').length;
console.log('ms', performance.now() - t0, 'size', size, 'rss', process.resourceUsage().maxRSS/1024);
console.log(out.join('').slice(-300));
