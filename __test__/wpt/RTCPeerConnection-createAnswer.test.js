'use strict';

require('./runner/suite')('RTCPeerConnection-createAnswer.html');
