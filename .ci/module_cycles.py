#!/usr/bin/env python3
# Fails when the modules of src/ import each other in a circle. Usage: module_cycles.py src [-v]
# Builds the module graph of src/ from `use crate::...` / `use super::...` lines (and paths in
# code like `crate::x::`), one node per file, and reports cycles.
import os,re,sys
root=sys.argv[1]
files={}
for d,_,fs in os.walk(root):
    for f in fs:
        if f.endswith('.rs'):
            p=os.path.join(d,f); rel=os.path.relpath(p,root)[:-3]
            mod=rel.replace('/mod','').replace('/', '::')
            if mod=='lib': mod=''
            files[mod]=p
def strip_tests(src):
    i=src.find('#[cfg(test)]\nmod tests')
    return src if i<0 else src[:i]
graph={}
for mod,p in files.items():
    src=strip_tests(open(p).read())
    src='\n'.join(l for l in src.split('\n') if not l.strip().startswith('//'))
    deps=set()
    parent='::'.join(mod.split('::')[:-1]) if mod else ''
    for m in re.finditer(r'\b(crate|super)::([a-z_][a-z0-9_]*)(?:::([a-z_][a-z0-9_]*))?',src):
        base, a, b = m.group(1), m.group(2), m.group(3)
        if base=='crate':
            cand=[a+'::'+b if b else None, a]
        else:
            pre=(parent+'::') if parent else ''
            cand=[pre+a+'::'+b if b else None, pre+a]
        for c in cand:
            if c and c in files and c!=mod: deps.add(c); break
    # `use super::{a, b}` form
    for m in re.finditer(r'use (crate|super)::\{([^}]*)\}',src):
        for a in re.findall(r'\b([a-z_][a-z0-9_]*)\b',m.group(2)):
            pre=('' if m.group(1)=='crate' else ((parent+'::') if parent else ''))
            c=pre+a
            if c in files and c!=mod: deps.add(c)
    graph[mod]=deps
# exclude edges into the parent module file (re-exports through mod.rs)
reexport=[(m,d) for m,ds in graph.items() for d in ds if d=='' ]
# find cycles (Tarjan)
index={};low={};st=[];on=set();sccs=[];i=[0]
def sc(v):
    index[v]=low[v]=i[0];i[0]+=1;st.append(v);on.add(v)
    for w in graph[v]:
        if w not in index: sc(w); low[v]=min(low[v],low[w])
        elif w in on: low[v]=min(low[v],index[w])
    if low[v]==index[v]:
        c=[]
        while True:
            w=st.pop();on.discard(w);c.append(w)
            if w==v:break
        if len(c)>1: sccs.append(c)
sys.setrecursionlimit(10000)
for v in graph:
    if v not in index: sc(v)
print('files:',len(graph),'edges:',sum(len(d) for d in graph.values()))
print('edges into lib.rs (crate root):',reexport)
# Inside the crate, names are imported from the module that defines them, never through the
# root's re-exports (`use crate::ETag`): the graph above would not see such an edge.
through_root=[]
for mod,p in files.items():
    if mod=='': continue
    for n,line in enumerate(open(p).read().split('\n'),1):
        code=line.split('//')[0]
        if re.search(r'\bcrate::(\{[^}]*\b[A-Z]|[A-Z])',code):
            through_root.append(f'{p}:{n}: {line.strip()}')
print('imports through the crate root:', through_root or 'none')
print('cycles:',sccs or 'none')
if through_root: sys.exit(1)
if sccs: sys.exit(1)
if '-v' in sys.argv:
    for m in sorted(graph): print(m or '(lib)', '->', sorted(graph[m]))
