export { renderDnsmasqConf, renderHostsfile } from './dnsmasq.js';
export { renderIptablesRemoval, renderIptablesRestore } from './iptables.js';
export { renderNftRemoval, renderNftScript } from './nft.js';
