import re, os, shutil, subprocess, collections
OUT='/work/main/crates/haproxide-config/data'
S='/work/shared/haproxy-keywords'
DUMP=open('/tmp/kw26.txt').read().split('\n')
DOC={'v2.6':open('/tmp/hx/doc26.txt').read().split('\n'),'master':open('/tmp/hx/docm.txt').read().split('\n')}
SRC={'v2.6':'haproxy doc/configuration.txt @ v2.6.0 (commit a1efc048bf8a5e14466dbe7317e73117e8d66176)',
     'master':'haproxy doc/configuration.txt @ master (commit 50872daa6a857e82afc40b1c5161924aef4172d7, 2026-08-21)'}
DUMPSRC='haproxy -dKall -q -c -f /dev/null of HAProxy 2.6.12-1+deb12u4 (/usr/sbin/haproxy, Debian 12)'
os.makedirs(OUT+'/v2.6',exist_ok=True); os.makedirs(OUT+'/master',exist_ok=True)

def sec_range(v, title_re):
    L=DOC[v]
    heads=[i for i,l in enumerate(L) if re.match(r'^\d+(\.\d+)*\.? +\S',l) and i>200]
    for k,i in enumerate(heads):
        if re.match(title_re,L[i]):
            return i, heads[k+1] if k+1<len(heads) else len(L)
    raise Exception(title_re)

def dump_block(start_pred, end_pred):
    out=[];f=False
    for l in DUMP:
        if f and end_pred(l): break
        if f: out.append(l)
        if start_pred(l): f=True
    return out

def write_list(path, names, comments):
    names=sorted(set(n for n in names if n))
    with open(path,'w') as f:
        for c in comments: f.write('# '+c+'\n')
        for n in names: f.write(n+'\n')
    return len(names)

def write_tsv(path, header, rows, comments):
    rows=sorted(set(tuple(r) for r in rows))
    with open(path,'w') as f:
        for c in comments: f.write('# '+c+'\n')
        f.write('\t'.join(header)+'\n')
        for r in rows: f.write('\t'.join(r)+'\n')
    return len(rows)

# ---------- 1. checklists
counts={}
adds={'global.tsv':['tune.peers.max-updates-at-once','tune.vars.check-max-size'],
      'server-options.tsv':['no-check-send-proxy'], 'bind-options.tsv':[], 'proxy-keywords.tsv':[]}
for fn in ['global.tsv','proxy-keywords.tsv','server-options.tsv','bind-options.tsv']:
    shutil.copy(f'{S}/master/{fn}', f'{OUT}/master/{fn}')
    txt=open(f'{S}/v2.6.0/{fn}').read()
    if adds[fn]:
        # verify really absent
        have={l.split('\t')[0] for l in txt.split('\n')}
        txt=txt.rstrip('\n')+'\n'
        txt=txt.replace('\n',' (rows with section "dump": registered by the 2.6.12 binary, absent from the v2.6.0 doc; appended at the end)\n',1) if False else txt
        for a in adds[fn]:
            assert a not in have, a
            txt+=f'{a}\tdump\n'
    open(f'{OUT}/v2.6/{fn}','w').write(txt)
# proxy keywords HAProxy 2.6 parses (cfgparse-listen.c) and documents in section 4.2
# but the 4.1 matrix omits: their sections from their 4.2 entries (hash-balance-factor
# is taken in a listen too, as haproxy -c does)
PROXY_ADDS={'v2.6':[('dynamic-cookie-key','X','-','X','X'),('hash-balance-factor','X','-','X','X'),
                    ('max-session-srv-conns','X','X','X','-')],
            'master':[('dynamic-cookie-key','X','-','X','X')]}
for v,rows in PROXY_ADDS.items():
    p=f'{OUT}/{v}/proxy-keywords.tsv'
    lines=open(p).read().rstrip('\n').split('\n')
    head=[l for l in lines if l.startswith('#') or l.startswith('keyword\t')]
    body=[l for l in lines if not (l.startswith('#') or l.startswith('keyword\t'))]
    for r in rows:   # each before the first keyword that sorts after it
        i=next(i for i,l in enumerate(body) if l.split('\t')[0]>r[0])
        body.insert(i,'\t'.join(r)+'\t')
    open(p,'w').write('\n'.join(head+body)+'\n')

# ---------- 2. sections
MULTI={'timeout','option','http-check','tcp-check'}
def heads_in(v,a,b,all_col0=False):
    L=DOC[v]; out=[]; i=a+1
    while i<b-1:
        l=L[i]
        if l and re.match(r'(no )?[a-z0-9][a-z0-9_\-\.]*( |$)',l) and (all_col0 or L[i-1].strip()==''):
            j=i
            while j+1<len(L) and L[j+1] and not L[j+1][0].isspace(): j+=1
            if all_col0 or (L[j+1].startswith('  ') and L[j+1].strip()):
                for k in range(i,j+1):
                    if not L[k].endswith('.'): out.append(L[k])
            i=j
        i+=1
    return out
def kwname(h):
    t=h.split()
    if t[0]=='no': return None
    w=re.sub(r'\(.*','',t[0])
    if w in MULTI and len(t)>1 and re.match(r'[a-z]',t[1]): w+=' '+re.sub(r'\(.*','',t[1])
    return w
SECDEF={
 'v2.6':[('userlist',r'3\.4\. Userlists'),('peers',r'3\.5\. Peers'),('mailers',r'3\.6\. Mailers'),
         ('program',r'3\.7\. Programs'),('http-errors',r'3\.8\. HTTP-errors'),('ring',r'3\.9\. Rings'),
         ('log-forward',r'3\.10\. Log forwarding'),('resolvers',r'5\.3\.2\. The resolvers'),
         ('cache',r'6\.2\.1\. Cache section'),('fcgi-app',r'10\.1\.1\. Fcgi-app')],
 'master':[('peers',r'11\.2\. Peers'),('traces',r'12\.1\. Traces'),('userlist',r'12\.2\. Userlists'),
         ('mailers',r'12\.3\. Mailers'),('http-errors',r'12\.4\. HTTP-errors'),('ring',r'12\.5\. Rings'),
         ('log-forward',r'12\.6\. Log forwarding'),('crt-store',r'12\.7\. Certificate Storage'),
         ('acme',r'12\.8\. ACME'),('healthcheck',r'12\.9\. Healthchecks'),('resolvers',r'5\.3\.2\. The resolvers'),
         ('cache',r'6\.2\.1\. Cache section'),('fcgi-app',r'10\.1\.1\. Fcgi-app'),('log-profile',r'8\.3\.5\. Log profiles')]}
SECROWS={}
for v,defs in SECDEF.items():
    rows=[]
    for sec,tre in defs:
        a,b=sec_range(v,tre)
        for h in heads_in(v,a,b, all_col0=(sec=='healthcheck')):
            k=kwname(h)
            if k and k!=sec: rows.append((sec,k))
    if v=='v2.6': rows.append(('ring','backing-file'))  # accepted by the 2.6.12 binary, undocumented in v2.6.0
    SECROWS[v]=rows
    counts[f'{v}/sections.tsv']=write_tsv(f'{OUT}/{v}/sections.tsv',['section','keyword'],rows,
      ['source: '+SRC[v], 'keywords of the non-proxy, non-global sections: column-0 entry headings of the section chapters, arguments removed',
       'multi-word keywords kept for: '+', '.join(sorted(MULTI))]+(['plus ring/backing-file: not in the v2.6.0 doc but accepted by the 2.6.12 binary (checked with haproxy -c)'] if v=='v2.6' else []))

# ---------- section-names
SN={'v2.6':[('global','doc'),('defaults','doc'),('frontend','doc'),('backend','doc'),('listen','doc'),('userlist','doc 3.4'),('peers','doc 3.5'),
   ('mailers','doc 3.6'),('program','doc 3.7; requires master-worker'),('http-errors','doc 3.8'),('ring','doc 3.9'),('log-forward','doc 3.10'),
   ('resolvers','doc 5.3.2'),('cache','doc 6.2.1'),('fcgi-app','doc 10.1.1'),('namespace_list','undocumented; only in USE_NS builds (accepted by Debian 2.6.12)')],
 'master':[('global','doc'),('defaults','doc'),('frontend','doc'),('backend','doc'),('listen','doc'),('userlist','doc 12.2'),('peers','doc 11.2'),
   ('mailers','doc 12.3'),('http-errors','doc 12.4'),('ring','doc 12.5'),('log-forward','doc 12.6'),('resolvers','doc 5.3.2'),('cache','doc 6.2.1'),
   ('fcgi-app','doc 10.1.1'),('traces','doc 12.1; since 3.1'),('crt-store','doc 12.7; since 3.0'),('acme','doc 12.8; since 3.2, experimental'),
   ('log-profile','doc 8.3.5; since 3.1'),('healthcheck','doc 12.9; since 3.4'),('namespace_list','undocumented; only in USE_NS builds')]}
for v,rows in SN.items():
    counts[f'{v}/section-names.tsv']=write_tsv(f'{OUT}/{v}/section-names.tsv',['section','since_note'],rows,
      ['source: '+SRC[v]+' and, for v2.6, each name checked with haproxy 2.6.12 -c (unknown names give "unknown keyword \'<name>\' out of section")',
       'not listed: spoe-agent/spoe-group/spoe-message (only in SPOE filter config files), program (removed in 3.3) for master'])

# ---------- fetches / converters / acl
def doc_fetches(v):
    L=DOC[v]; a,_=sec_range(v,r'7\.3\.2\. '); _,b=sec_range(v,r'7\.3\.7\. ')
    names=set(); tbl=set()
    for l in L[a:b]:
        m=re.match(r'^([a-z][\w.+\-]*)(\(.*?\)\)?[^:]*)?\s+:\s+\S',l)
        if m: names.add(m.group(1)); continue
        m=re.match(r'^([a-z][\w.+\-]*)(\([^ ]*\))?\s{2,}\S+',l)
        if m: tbl.add(m.group(1))
    dev=set()
    a2,b2=sec_range(v,r'7\.3\.7\. ')
    for l in L[a2:b2]:
        m=re.match(r'^([a-z][\w.+\-]*)(\(.*?\))?\s+:\s+\S',l)
        if m: dev.add(m.group(1))
    return names,tbl,dev
def doc_convs(v):
    L=DOC[v]; a,b=sec_range(v,r'7\.3\.1\. ')
    names=set(); tbl=set()
    for i in range(a,b):
        l=L[i]
        m=re.match(r'^([a-z][\w.+\-]*)(\(.*\))?\s*$',l)
        if m and L[i+1].startswith('  ') and (L[i-1].strip()=='' or re.match(r'^[a-z]',L[i-1])): names.add(m.group(1)); continue
        m=re.match(r'^([a-z][\w.+\-]*)(\([^ ]*\))?\s{2,}(\w+)\s+(\w+)\s*$',l)
        if m: tbl.add(m.group(1))
    for l in L[a:b]:
        if '|' in l: 
            for mm in re.findall(r'\b(map_[a-z_]+)\b',l): tbl.add(mm)
    tbl-= {'map_match','map_match_output'}
    return names,tbl
def doc_acl_derivs(v):
    L=DOC[v]; a,_=sec_range(v,r'7\.3\.2\. '); _,b=sec_range(v,r'7\.3\.7\. ')
    out=set(); on=False
    for l in L[a:b]:
        if re.match(r'^\s+ACL derivatives',l): on=True; continue
        if on:
            m=re.match(r'^\s{3,}([a-z][\w.+\-]*)(\(.*?\)\)?)?\s*:',l)
            if m: out.add(m.group(1))
            elif l.strip()=='' : pass
            else: on=False
    return out
dfetch=[re.match(r'^\[[ .YN]+\] ([^(:]+)',l).group(1) for l in dump_block(lambda l:l.startswith('# List of registered sample fetch'),lambda l:l.startswith('# List of registered service')) if l.startswith('[')]
dconv=[re.match(r'^([^(:]+)',l).group(1) for l in dump_block(lambda l:l.startswith('# List of registered sample converter'),lambda l:l.startswith('# List')) if l.strip()]
dacl=[l.split(' = ')[0] for l in dump_block(lambda l:l.startswith('# List of registered ACL'),lambda l:l.startswith('# List')) if ' = ' in l]
REPORT={}
for v in ['v2.6','master']:
    n,t,dev=doc_fetches(v); c,ct=doc_convs(v); ad=doc_acl_derivs(v)
    REPORT[v]={'fetch_tbl_not_entries':sorted(t-n),'fetch_entries_not_tbl':sorted(n-t) if t else [],'conv_tbl_not_entries':sorted(ct-c),'conv_entries_not_tbl':sorted(c-ct) if ct else [],'dev':sorted(dev)}
    fe=n|t|dev; cv=c|ct
    if v=='master': cv|={'map_beg_ip'}  # doc 7.3.1 map table has a typo (map_end_ip in the beg row); map_beg_ip is registered in master src/map.c
    if v=='v2.6':
        REPORT[v]['dump_fetch_not_doc']=sorted(set(dfetch)-fe); REPORT[v]['doc_fetch_not_dump']=sorted(fe-set(dfetch))
        REPORT[v]['dump_conv_not_doc']=sorted(set(dconv)-cv); REPORT[v]['doc_conv_not_dump']=sorted(cv-set(dconv))
        fe|=set(dfetch); cv|=set(dconv)
    REPORT[v]['acl_derivs_doc']=sorted(ad)
    counts[f'{v}/fetches.txt']=write_list(f'{OUT}/{v}/fetches.txt',fe,['source: '+SRC[v]+' sections 7.3.2-7.3.7 (entry headings "name(args) : type" and the summary tables)']+(['unioned with the sample fetch list of '+DUMPSRC] if v=='v2.6' else [])+['one sample fetch name per line; sc0_/sc1_/sc2_/sc_ forms as the doc/binary spell them'])
    counts[f'{v}/converters.txt']=write_list(f'{OUT}/{v}/converters.txt',cv,['source: '+SRC[v]+' section 7.3.1 (entry headings and summary table)']+(['unioned with the converter list of '+DUMPSRC] if v=='v2.6' else [])+['one converter name per line'])
    REPORT[v]['acl_deriv_not_registered']=sorted(ad-set(dacl)-fe)
    REPORT[v]['registered_acl_not_documented']=sorted(set(dacl)-ad)

# drop doc-only fetch 'set-cookie' (documented as deprecated but registered neither in 2.6.12 nor in master source; 2.6.12 rejects it)
for v in ['v2.6','master']:
    p=f'{OUT}/{v}/fetches.txt'; ls=[l for l in open(p).read().split('\n') if l and l!='set-cookie']
    ls.insert(2,'# excluded: set-cookie (documented as deprecated alias, but not registered: 2.6.12 answers "unknown fetch method")')
    open(p,'w').write('\n'.join(ls)+'\n'); counts[f'{v}/fetches.txt']=len([l for l in ls if not l.startswith('#')])

# acl keywords
for v in ['v2.6','master']:
    counts[f'{v}/acl-keywords.txt']=write_list(f'{OUT}/{v}/acl-keywords.txt',dacl,[
      'ACL-only keyword aliases (usable as the criterion of an "acl" line besides plain sample fetches)',
      'source: "List of registered ACL keywords" of '+DUMPSRC+('' if v=='v2.6' else '; identical to the names in the acl_kw_list tables of master 50872daa (checked)'),
      'cross-check with the doc "ACL derivatives" lists: doc-only names req.cook_*, res.hdr_*, resp.ver are NOT registered (2.6.12 rejects res.hdr_beg) and are excluded'])

# actions
RS=['quic-initial','tcp-request connection','tcp-request session','tcp-request content','tcp-response content','http-request','http-response','http-after-response']
def matrix_actions():
    L=DOC['master']; a,b=sec_range('master',r'4\.3\. Actions keywords matrix'); rows=[]
    for l in L[a:b]:
        t=l.split()
        if len(t)==10 and t[1] in ('layer4','(deprecated)'): t=[t[0]]+t[2:]
        if len(t)==9 and all(x in ('X','-') for x in t[1:]) and re.match(r'[a-z]',t[0]):
            for rs,x in zip(RS,t[1:]):
                if x=='X': rows.append((rs,t[0]))
    return rows
def doc_head_actions(v, rulesets):
    rows=[]
    for l in DOC[v]:
        for rs in rulesets:
            m=re.match('^'+re.escape(rs)+r' ([a-z][a-z0-9\-\.]*)',l)
            if m and m.group(1) not in ('x',):
                rows.append((rs,m.group(1)))
    return rows
def doc_check_actions(v):
    a,b=sec_range(v,r'4\.2\. Alphabetically'); out=[]
    for l in DOC[v][a:b]:
        m=re.match(r'^(http-check|tcp-check) ([a-z][a-z0-9\-]*)',l)
        if m: out.append((m.group(1),m.group(2)))
    return out
ACT={}
m=matrix_actions()+doc_check_actions('master')+[('stats http-request',x) for x in ('allow','deny','auth')]
m+=[(rs,'lua.') for rs in ('tcp-request content','tcp-response content','http-request','http-response','http-after-response')]
ACT['master']=m
d=[]
for l in dump_block(lambda l:l.startswith('# List of registered configuration'),lambda l:l.startswith('# List')):
    mm=re.match(r'^\t(tcp-request connection|tcp-request session|tcp-request content|tcp-response content|http-request|http-response|http-after-response) (\S+)$',l)
    if mm:
        a=mm.group(2).rstrip('*')
        if a=='track-sc': d+=[(mm.group(1),'track-sc%d'%i) for i in range(3)]
        else: d.append((mm.group(1),a))
a,b=sec_range('v2.6',r'4\.2\. Alphabetically')
h=[r for r in doc_head_actions('v2.6',['tcp-request connection','tcp-request session','tcp-request content','tcp-response content','http-request','http-response','http-after-response'])]
h=[(rs,x) for rs,x in h if x not in ('rules',)]
REPORT['v2.6']['act_doc_not_dump']=sorted(set(h)-set(d)); REPORT['v2.6']['act_dump_not_doc']=sorted(set(d)-set(h))
ACT['v2.6']=h+d+doc_check_actions('v2.6')+[('stats http-request',x) for x in ('allow','deny','auth')]+[(rs,'lua.') for rs in ('tcp-request content','tcp-response content','http-request','http-response')]

for v in ['v2.6','master']:
    counts[f'{v}/actions.tsv']=write_tsv(f'{OUT}/{v}/actions.tsv',['ruleset','action'],ACT[v],[
      ('source: '+SRC[v]+' section 4.3 "Actions keywords matrix" (rulesets quic-initial, tcp-request connection|session|content, tcp-response content, http-request, http-response, http-after-response) + section 4.2 "http-check <x>"/"tcp-check <x>" headings + "stats http-request { allow | deny | auth }"') if v=='master' else
      ('source: '+SRC[v]+' column-0 headings "<ruleset> <action>" (4.2), unioned with the tcp-/http- action keywords registered in '+DUMPSRC+' (trailing * = prefix/arg form dropped; track-sc* expanded to track-sc0..2), + 4.2 http-check/tcp-check headings + stats http-request allow|deny|auth'),
      'actions with (args) written with their base name (set-var, sc-inc-gpc0); "lua." = any Lua-registered action lua.<name> (rulesets where core.register_action can register)',
      'hard-coded actions included: accept, reject, expect-proxy, expect-netscaler-cip, capture, close, track-sc0/1/2'])

# options / services / filters
for v,src in [('v2.6','v2.6.0'),('master','master')]:
    opts=[l.split('\t')[0][7:] for l in open(f'{S}/{src}/proxy-keywords.tsv') if l.startswith('option ')]
    c=['source: rows "option <name>" of '+f'{S}/{src}/proxy-keywords.tsv (doc section 4.1 matrix, {SRC[v]})']
    if v=='v2.6':
        opts+=[l.split()[1] for l in DUMP if l.startswith('\toption ')]; c.append('unioned with the "option" lines of '+DUMPSRC)
    c.append('names only (without "option "); options of fcgi-app/log-forward/program sections are in sections.tsv, not here')
    counts[f'{v}/options.txt']=write_list(f'{OUT}/{v}/options.txt',opts,c)
counts['v2.6/services.txt']=write_list(f'{OUT}/v2.6/services.txt',['prometheus-exporter'],['use-service names: "List of registered service names" of '+DUMPSRC+' (= v2.6.0 doc); Lua services are "lua.<name>" (not listed)'])
counts['master/services.txt']=write_list(f'{OUT}/master/services.txt',['prometheus-exporter'],['use-service names documented in '+SRC['master']+'; Lua services are "lua.<name>" (not listed)'])
counts['v2.6/filters.txt']=write_list(f'{OUT}/v2.6/filters.txt',['cache','compression','fcgi-app','opentracing','spoe','trace'],['filter names: "List of registered filter names" of '+DUMPSRC+'; same set as the "filter <name>" headings of chapter 9 of the v2.6.0 doc'])
counts['master/filters.txt']=write_list(f'{OUT}/master/filters.txt',['cache','comp-req','comp-res','compression','fcgi-app','spoe','trace','bwlim-in','bwlim-out'],['filter names: "filter <name>" headings of chapter 9 of '+SRC['master'],'opentracing removed in 3.5 (doc 9.6)'])

# removed
RM=[
('contimeout','2.1','timeout connect',"the 'contimeout' directive is not supported anymore since HAProxy 2.1. Use 'timeout connect'."),
('clitimeout','2.1','timeout client',"the 'clitimeout' directive is not supported anymore since HAProxy 2.1. Use 'timeout client'."),
('srvtimeout','2.1','timeout server',"the 'srvtimeout' directive is not supported anymore since HAProxy 2.1. Use 'timeout server'."),
('redispatch','2.1','option redispatch',"keyword 'redispatch' directive is not supported anymore since HAProxy 2.1. Use 'option redispatch'."),
('reqrep','2.1','http-request replace-path|replace-uri|replace-header',"The 'reqrep' directive is not supported anymore since HAProxy 2.1. Use 'http-request replace-path', 'http-request replace-uri' or 'http-request replace-header' instead."),
('reqirep','2.1','http-request replace-header',"The 'reqirep' directive is not supported anymore since HAProxy 2.1. Use 'http-request replace-header' instead."),
('reqadd','2.1','http-request add-header',"The 'reqadd' directive is not supported anymore since HAProxy 2.1. Use 'http-request add-header' instead."),
('reqdel','2.1','http-request del-header',"The 'reqdel' directive is not supported anymore since HAProxy 2.1. Use 'http-request del-header' instead."),
('reqidel','2.1','http-request del-header',"The 'reqidel' directive is not supported anymore since HAProxy 2.1. Use 'http-request del-header' instead."),
('reqdeny','2.1','http-request deny',"The 'reqdeny' not supported anymore since HAProxy 2.1. Use 'http-request deny' instead."),
('reqideny','2.1','http-request deny',"The 'reqideny' directive is not supported anymore since HAProxy 2.1. Use 'http-request deny' instead."),
('reqpass','2.1','',"The 'reqpass' not supported anymore since HAProxy 2.1."),
('reqipass','2.1','',"The 'reqipass' directive is not supported anymore since HAProxy 2.1."),
('reqallow','2.1','http-request allow',"The 'reqallow' directive is not supported anymore since HAProxy 2.1. Use 'http-request allow' instead."),
('reqiallow','2.1','http-request allow',"The 'reqiallow' directive is not supported anymore since HAProxy 2.1. Use 'http-request allow' instead."),
('reqtarpit','2.1','http-request tarpit',"The 'reqtarpit' directive is not supported anymore since HAProxy 2.1. Use 'http-request tarpit' instead."),
('reqitarpit','2.1','http-request tarpit',"The 'reqitarpit' directive is not supported anymore since HAProxy 2.1. Use 'http-request tarpit' instead."),
('rsprep','2.1','http-response replace-header',"The 'rsprep' directive is not supported anymore since HAProxy 2.1. Use 'http-response replace-header' instead."),
('rspirep','2.1','http-response replace-header',"The 'rspirep' directive is not supported anymore since HAProxy 2.1. Use 'http-response replace-header' instead."),
('rspadd','2.1','http-response add-header',"The 'rspadd' directive is not supported anymore since HAProxy 2.1. Use 'http-response add-header' instead."),
('rspdel','2.1','http-response del-header',"The 'rspdel' directive is not supported anymore since HAProxy 2.1. Use 'http-response del-header' ."),
('rspidel','2.1','http-response del-header',"The 'rspidel' directive is not supported anymore since HAProxy 2.1. Use 'http-response del-header' instead."),
('rspdeny','2.1','http-response deny',"The 'rspdeny' directive is not supported anymore since HAProxy 2.1. Use 'http-response deny' instead."),
('rspideny','2.1','http-response deny',"The 'rspideny' directive is not supported anymore since HAProxy 2.1. Use 'http-response deny' instead."),
('block','2.1','http-request deny',"The 'block' directive is not supported anymore since HAProxy 2.1. Use 'http-request deny' which uses the exact same syntax."),
('monitor-net','2.3','http-request return status 200 if { src <net> }',"'monitor-net' doesn't exist anymore. Please use 'http-request return status 200 if { src 1.2.3.4/32 }' instead."),
('mode health','2.3','http-request return status 200',"'mode health' doesn't exist anymore. Please use 'http-request return status 200' instead."),
('appsession','1.6','',"'appsession' is not supported anymore since HAProxy 1.6."),
('grace','2.5','',"the 'grace' keyword is not supported any more since HAProxy version 2.5."),
('option http-tunnel','2.1','',"option 'http-tunnel' is not supported any more since HAProxy 2.1, please just remove it, it shouldn't be needed."),
('option forceclose','2.0','option httpclose',"option 'forceclose' is not supported any more since HAProxy 2.0, please just remove it, or use 'option httpclose' if absolutely needed."),
('option http_proxy','2.5','http-request set-dst / set-uri / do-resolve',"option 'http_proxy' is not supported any more since HAProxy 2.5. This option stopped working in HAProxy 1.9 and usually had nasty side effects. It can be more reliably implemented with combinations of 'http-request set-dst' and 'http-request set-uri', and even 'http-request do-resolve' if DNS resolution is desired."),
('hash-type avalanche','1.5','hash-type map-based sdbm avalanche',"experimental feature 'hash-type avalanche' is not supported anymore, please use 'hash-type map-based sdbm avalanche' instead."),
('nbproc','2.5','nbthread',"nbproc is not supported any more since HAProxy 2.5. Threads will automatically be used on multi-processor machines if available."),
('tune.chksize','1.6','tune.bufsize',"option 'tune.chksize' is not supported any more (tune.bufsize is used instead)."),
('resolution_pool_size','1.7','',"'resolution_pool_size' directive is not supported anymore (it never appeared in a stable release)."),
# removed after 2.6: messages from the master (50872daa) source strings, %s filled in
('bind-process','2.7','',"'bind-process' is not supported anymore."),
('stats bind-process','2.7','',"'stats bind-process' is not supported anymore."),
('bind ... process','2.7','thread',"'process <arg>' on 'bind' lines is not supported anymore, please use 'thread' instead."),
('program','3.3','',''),
('option transparent','3.5','server with address 0.0.0.0',"support for option 'transparent' was removed in version 3.5."),
('transparent','3.5','server with address 0.0.0.0',"support for 'transparent' was removed in version 3.5. The modern way to do the same is to create a server with address 0.0.0.0."),
('dispatch','3.5','server <name> <address> (weight 0 for others)',"support for 'dispatch' was removed in version 3.5. The modern way to do the same is to create a server with the same address, and possibly to assign any extra server a weight of zero if any:"),
('master-worker','3.5','-W / -Ws command line',"support for 'master-worker' was removed in version 3.5. Use -W or -Ws in the startup script instead."),
('filter opentracing','3.5','',''),
]
counts['removed.tsv']=write_tsv(f'{OUT}/removed.tsv',['keyword','removed_in','replacement','haproxy_message'],RM,[
 'keywords HAProxy removed and answers with a specific message. removed_in <= 2.6: message printed by HAProxy 2.6.12 (haproxy -c on a one-keyword config), text after the "parsing [t.cfg:2] : " prefix, verbatim',
 'removed_in 2.7 and later: message text of master 50872daa source (arguments filled in; "master-worker" only when given without argument, "master-worker no-exit-on-failure" stays); empty = no specific message (the keyword is simply unknown)',
 'removed_in for 2.1-era rows = the version the message names (monitor-net: 2.2 per the 2.2 release; appsession 1.6, tune.chksize 1.6, hash-type avalanche 1.5, resolution_pool_size 1.7 are best-effort)',
 'in 2.6.12, bind-process / "bind ... process" are only deprecated (warning "...will be removed in version 2.7"), not errors'])
import json; json.dump(REPORT,open('/tmp/hx/report.json','w'),indent=1); print(counts)
