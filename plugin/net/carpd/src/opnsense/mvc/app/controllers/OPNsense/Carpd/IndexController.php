<?php

/*
 * Copyright (C) 2026 carpd contributors
 * All rights reserved.
 *
 * Redistribution and use in source and binary forms, with or without
 * modification, are permitted provided that the following conditions are met:
 *
 * 1. Redistributions of source code must retain the above copyright notice,
 *    this list of conditions and the following disclaimer.
 *
 * 2. Redistributions in binary form must reproduce the above copyright
 *    notice, this list of conditions and the following disclaimer in the
 *    documentation and/or other materials provided with the distribution.
 *
 * THIS SOFTWARE IS PROVIDED ``AS IS'' AND ANY EXPRESS OR IMPLIED WARRANTIES,
 * INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY
 * AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE
 * AUTHOR BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY,
 * OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF
 * SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS
 * INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN
 * CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE)
 * ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE
 * POSSIBILITY OF SUCH DAMAGE.
 */

namespace OPNsense\Carpd;

/**
 * Pages under Services: carpd (/ui/carpd/...).
 */
class IndexController extends \OPNsense\Base\IndexController
{
    /**
     * Settings: /ui/carpd/ (tabs: the general form, the grid of protocol settings per VHID
     * and the grid of tracked checks, each with its edit dialog, as core's Syslog
     * IndexController sets up its destinations).
     */
    public function indexAction()
    {
        $this->view->generalForm = $this->getForm('general');
        $this->view->formDialogVhid = $this->getForm('dialogVhid');
        $this->view->formGridVhid = $this->getFormGrid('dialogVhid', 'grid_vhids');
        $this->view->formDialogCheck = $this->getForm('dialogCheck');
        $this->view->formGridCheck = $this->getFormGrid('dialogCheck', 'grid_checks');
        $this->view->pick('OPNsense/Carpd/index');
    }

    /**
     * Status (what Interfaces: Virtual IPs: Status does not show): /ui/carpd/index/status
     */
    public function statusAction()
    {
        $this->view->pick('OPNsense/Carpd/status');
    }
}
